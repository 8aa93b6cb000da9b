"""glassbox against the reference libraries on the same models and rows, in one run.

For each model (dense 100 trees of depth 6, and 1,000 trees of depth 8; 30 features), each
thread count (1 and 2) and each task (path-dependent SHAP values, interaction values,
interventional SHAP with 100 and 1,000 background rows) it times:
  - glassbox: the whole `glassbox explain` command (model load, CSV parse, explanation, output
    file written), on all 10,000 rows, median of the repeats;
  - the newest XGBoost from PyPI and Debian's XGBoost 1.7: predict(pred_contribs /
    pred_interactions), data already in a DMatrix, so only the explanation is timed;
  - shap's TreeExplainer: path-dependent (which shap hands to XGBoost's pred_contribs for
    XGBoost models, as it does pred_interactions, so shap's interactions are not timed apart)
    and interventional (shap's own code, single-threaded: its 1-thread time is the reference
    at 2 threads as well).
A reference that would take longer than --budget seconds on 10,000 rows is timed on the first
rows that fit in the budget, and its time is scaled to 10,000 rows (marked ~); all of these
algorithms cost the same per row. Peak memory is each process's maximum resident set.
glassbox's values are compared with each reference on the rows both explained.
Finally a 10-million-row CSV is streamed through `glassbox explain` to show bounded memory.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANCHOR = os.path.join(ROOT, "bench", "anchor.py")
ROWS, FEATURES = 10000, 30
MODELS = [("dense-100x6", 100, 6), ("deep-1000x8", 1000, 8)]


def run_measured(command, stdin_feeder=None, stdout=subprocess.DEVNULL):
    """Runs a command; returns (seconds, peak resident KB, stdout text or None)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdin=subprocess.PIPE if stdin_feeder else None,
                               stdout=stdout, stderr=subprocess.PIPE)
    feeder = None
    if stdin_feeder:
        feeder = threading.Thread(target=stdin_feeder, args=(process.stdin,))
        feeder.start()
    captured = process.stdout.read() if stdout == subprocess.PIPE else None
    error = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if feeder:
        feeder.join()
    if process.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(command), process.returncode,
                                                   error.decode(errors="replace")))
    return seconds, usage.ru_maxrss, captured.decode() if captured is not None else None


def write_csv(path, matrix):
    header = ",".join("f%d" % i for i in range(matrix.shape[1]))
    np.savetxt(path, matrix, delimiter=",", header=header, comments="", fmt="%.9g")


def make_data(work, seed=1):
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(0).normal(size=(FEATURES, FEATURES)) * 0.3 + np.eye(FEATURES)
    sets = {"rows": ROWS, "bg100": 100, "bg1000": 1000}
    for name, count in sets.items():
        matrix = rng.normal(size=(count, FEATURES)) @ mixing
        matrix = matrix.astype(np.float32).astype(np.float64)  # exact in CSV and in XGBoost
        np.save(os.path.join(work, name + ".npy"), matrix)
        write_csv(os.path.join(work, name + ".csv"), matrix)


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = args.work
        self.glassbox = os.path.join(ROOT, "build", "glassbox")
        self.engines = [("xgboost", args.python, "xgboost")]
        if args.debian_python:
            self.engines.append(("xgboost-debian", args.debian_python, "xgboost"))
        self.engines.append(("shap", args.python, "shap"))
        self.versions = {}
        self.results = []
        self.shap_single = {}

    def path(self, name):
        return os.path.join(self.work, name)

    def train(self):
        trainer = self.args.debian_python or self.args.python  # the oldest reads the newest's files
        for name, trees, depth in MODELS:
            model = self.path(name + ".json")
            if not os.path.exists(model):
                print("training %s with %s ..." % (name, trainer), flush=True)
                subprocess.run([trainer, ANCHOR, "train", "--model", model, "--trees", str(trees),
                                "--depth", str(depth)], check=True, stdout=subprocess.DEVNULL)

    def anchor(self, engine, python, library, model, task, threads, background, limit, repeats,
               values=None):
        command = [python, ANCHOR, "explain", "--engine", library, "--task", task, "--model", model,
                   "--rows", self.path("rows.npy"), "--limit", str(limit), "--threads",
                   str(threads), "--repeats", str(repeats)]
        if background:
            command += ["--background", self.path(background + ".npy")]
        if values:
            command += ["--values", values]
        _, _, output = run_measured(command, stdout=subprocess.PIPE)
        report = json.loads(output.strip().splitlines()[-1])
        self.versions[engine] = report["version"]
        return report

    def time_anchor(self, engine, python, library, model, task, threads, background):
        """Times a reference on as many rows as the budget allows; returns the result row."""
        probe_rows = 4 if task == "interactions" else 40
        probe = self.anchor(engine, python, library, model, task, threads, background, probe_rows, 1)
        per_row = max(probe["seconds"][0], 1e-6) / probe_rows
        rows = int(min(ROWS, max(probe_rows, self.args.budget / per_row)))
        repeats = self.args.repeats if per_row * rows < 5 else 1
        values = self.path("anchor_values.npy")
        report = self.anchor(engine, python, library, model, task, threads, background, rows,
                             repeats, values)
        seconds = statistics.median(report["seconds"]) * ROWS / rows
        return {"engine": engine, "seconds": seconds, "rows_timed": rows,
                "peak_mb": report["peak_kb"] / 1024, "values": values}

    def time_glassbox(self, model, task, threads, background):
        output = self.path("glassbox.json" if task == "interactions" else "glassbox.csv")
        command = [self.glassbox, "explain", "--model", model, "--data", self.path("rows.csv"),
                   "--threads", str(threads), "--no-data", "--quiet", "--output", output]
        if task == "interactions":
            command.append("--interactions")
        if background:
            command += ["--method", "tree-interventional", "--background",
                        self.path(background + ".csv")]
        runs = [run_measured(command)]
        while len(runs) < self.args.repeats and runs[0][0] < 60:  # long runs once
            runs.append(run_measured(command))
        return {"engine": "glassbox", "seconds": statistics.median(r[0] for r in runs),
                "rows_timed": ROWS, "peak_mb": max(r[1] for r in runs) / 1024, "output": output}

    def difference(self, glassbox, reference, task):
        """Largest |glassbox - reference| over the rows the reference explained."""
        if task == "interactions":
            return None
        mine = np.loadtxt(glassbox["output"], delimiter=",", skiprows=1)[:, :FEATURES]
        theirs = np.load(reference["values"])
        theirs = theirs.reshape(theirs.shape[0], -1)[:, :FEATURES]
        return float(np.max(np.abs(mine[: theirs.shape[0]] - theirs)))

    def scenario(self, name, model, task, threads, background):
        label = task if not background else "interventional-" + background[2:]
        print("\n%s, %s, %d thread%s" % (name, label, threads, "s" if threads > 1 else ""),
              flush=True)
        mine = self.time_glassbox(model, task, threads, background)
        self.report_line(mine, None)
        for engine, python, library in self.engines:
            if background and library != "shap":
                continue
            if task == "interactions" and library == "shap":
                continue  # shap hands XGBoost models to pred_interactions: XGBoost's own time
            key = (name, background)
            if background and threads > 1 and key in self.shap_single:
                theirs = dict(self.shap_single[key], single_thread=True)
            else:
                theirs = self.time_anchor(engine, python, library, model, anchor_task(task),
                                          threads, background)
                theirs["max_difference"] = self.difference(mine, theirs, task)
                if background:
                    self.shap_single[key] = theirs
            self.report_line(theirs, mine)
            self.results.append({"model": name, "task": label, "threads": threads,
                                 "glassbox_s": mine["seconds"], "glassbox_mb": mine["peak_mb"],
                                 "engine": engine, "engine_s": theirs["seconds"],
                                 "engine_rows": theirs["rows_timed"],
                                 "engine_mb": theirs["peak_mb"],
                                 "ratio": theirs["seconds"] / mine["seconds"],
                                 "max_difference": theirs.get("max_difference"),
                                 "single_thread": theirs.get("single_thread", False)})

    @staticmethod
    def report_line(result, glassbox):
        scaled = "~" if result["rows_timed"] < ROWS else " "
        line = "  %-15s %s%9.3f s  %7.1f MB" % (result["engine"], scaled, result["seconds"],
                                               result["peak_mb"])
        if glassbox:
            line += "  %7.1fx slower than glassbox" % (result["seconds"] / glassbox["seconds"])
            if result["rows_timed"] < ROWS:
                line += "  (timed on %d rows)" % result["rows_timed"]
            if result.get("max_difference") is not None:
                line += "  max |diff| %.1e" % result["max_difference"]
            if result.get("single_thread"):
                line += "  (single-threaded)"
        print(line, flush=True)

    def stream(self):
        """Streams a large CSV (the 10,000 rows repeated) through glassbox on standard input."""
        total = self.args.stream_rows
        body = open(self.path("rows.csv"), "rb").read()
        header, rows = body.split(b"\n", 1)
        model = self.path(MODELS[0][0] + ".json")
        command = [self.glassbox, "explain", "--model", model, "--data", "-", "--threads", "2",
                   "--format", "csv", "--no-data", "--quiet", "--output", "/dev/null"]

        def feed(pipe):
            pipe.write(header + b"\n")
            for _ in range(total // ROWS):
                pipe.write(rows)
            pipe.close()

        small = run_measured(command[:5] + [self.path("rows.csv")] + command[6:])
        large = run_measured(command, stdin_feeder=feed)
        print("\nstreaming %s, 2 threads, CSV in and out:" % MODELS[0][0])
        print("  %10d rows: %8.1f s  peak %6.1f MB" % (ROWS, small[0], small[1] / 1024))
        print("  %10d rows: %8.1f s  peak %6.1f MB" % (total // ROWS * ROWS, large[0],
                                                      large[1] / 1024))
        return {"rows": total // ROWS * ROWS, "seconds": large[0], "peak_mb": large[1] / 1024,
                "small_peak_mb": small[1] / 1024, "small_seconds": small[0]}

    def markdown(self, streaming):
        lines = ["| model | task | threads | glassbox | reference | reference time | ratio | "
                 "peak MB (glassbox / reference) |", "|---|---|---|---|---|---|---|---|"]
        for r in self.results:
            engine = "%s %s" % (r["engine"].replace("-debian", ""),
                                self.versions.get(r["engine"], ""))
            if r["engine"] == "xgboost-debian":
                engine += " (Debian)"
            time_text = ("~" if r["engine_rows"] < ROWS else "") + "%.2f s" % r["engine_s"]
            if r["single_thread"]:
                time_text += " (1 thread)"
            lines.append("| %s | %s | %d | %.3f s | %s | %s | %.1fx | %.0f / %.0f |" % (
                r["model"], r["task"], r["threads"], r["glassbox_s"], engine, time_text,
                r["ratio"], r["glassbox_mb"], r["engine_mb"]))
        if streaming:
            lines.append("")
            lines.append("Streaming (%s, 2 threads): %d rows in %.0f s with peak %.0f MB; "
                         "10,000 rows peak %.0f MB." % (MODELS[0][0], streaming["rows"],
                                                        streaming["seconds"],
                                                        streaming["peak_mb"],
                                                        streaming["small_peak_mb"]))
        return "\n".join(lines) + "\n"


def anchor_task(task):
    return "contribs" if task == "path-dependent" else task


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", default=os.path.join(ROOT, "build", "bench"))
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter with the newest xgboost and shap")
    parser.add_argument("--debian-python", default="/usr/bin/python3",
                        help="interpreter with Debian's python3-xgboost ('' to skip)")
    parser.add_argument("--budget", type=float, default=30.0,
                        help="seconds a reference may take per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--models", default=",".join(m[0] for m in MODELS))
    parser.add_argument("--tasks", default="path-dependent,interactions,interventional")
    parser.add_argument("--stream-rows", type=int, default=10_000_000, help="0 to skip")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if args.debian_python and subprocess.run([args.debian_python, "-c", "import xgboost"],
                                             capture_output=True).returncode != 0:
        print("note: %s has no xgboost; Debian's XGBoost is left out" % args.debian_python)
        args.debian_python = ""
    bench = Bench(args)
    make_data(args.work)
    bench.train()
    chosen = args.models.split(",")
    tasks = args.tasks.split(",")
    for name, _, _ in MODELS:
        if name not in chosen:
            continue
        model = bench.path(name + ".json")
        for threads in (int(t) for t in args.threads.split(",")):
            for task in tasks:
                if task == "interventional":
                    for background in ("bg100", "bg1000"):
                        bench.scenario(name, model, "interventional", threads, background)
                else:
                    bench.scenario(name, model, task, threads, None)
    streaming = None
    for stage in ("timings", "streaming"):
        if stage == "streaming":
            if not args.stream_rows:
                break
            streaming = bench.stream()
        table = bench.markdown(streaming)
        with open(os.path.join(args.work, "results.md"), "w") as out:
            out.write(table)
        with open(os.path.join(args.work, "results.json"), "w") as out:
            json.dump({"versions": bench.versions, "results": bench.results,
                       "streaming": streaming}, out, indent=1)
    print("\n" + table)
    print("written to %s" % os.path.join(args.work, "results.md"))


if __name__ == "__main__":
    main()
