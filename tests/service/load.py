#!/usr/bin/env python3
"""Clients explaining as fast as they can against glassbox serve instances, each request with an
id of its own; the ids answered 200 (the answer carrying that id) are appended to a file.
Optionally one server process is killed with SIGKILL partway (clients of a server that is gone
stop). Prints how many were answered.

usage: load.py --ports P1[,P2] --seconds S --out FILE [--clients 8] [--prefix r1]
               [--kill PID --kill-after SECONDS]"""
import argparse
import json
import os
import signal
import threading
import time
import urllib.request


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--prefix", default="r")
    parser.add_argument("--kill", type=int)
    parser.add_argument("--kill-after", type=float, default=0)
    args = parser.parse_args()
    ports = args.ports.split(",")
    names = json.load(open("examples/credit_model.json"))["learner"]["feature_names"]
    answered, lock, stop = [], threading.Lock(), time.time() + args.seconds

    def client(number):
        port = ports[number % len(ports)]
        for i in range(1000000):
            if time.time() > stop:
                return
            ident = f"{args.prefix}-c{number}-{i}"
            row = [float((i + j) % 7) for j in range(len(names))]
            body = json.dumps({"id": ident, "instances": [row]}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models/credit:explain",
                                             data=body, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:
                    if reply.status == 200 and json.loads(reply.read())["id"] == ident:
                        with lock:
                            answered.append(ident)
            except Exception:
                return  # its server is gone

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for t in threads:
        t.start()
    if args.kill:
        time.sleep(args.kill_after)
        os.kill(args.kill, signal.SIGKILL)
    for t in threads:
        t.join()
    with open(args.out, "a") as f:
        f.write("".join(a + "\n" for a in answered))
    print(len(answered))


if __name__ == "__main__":
    main()
