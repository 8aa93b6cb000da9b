/* A model speaking glassbox's cmd: line protocol, for the CLI tests: y = 0.5 a - b + 2 c + 0.1.
 * The argument picks a misbehaviour: "ok", "die" (exits after the header), "hang" (never
 * answers), "garbage" (answers text), "nan" (answers nan), "short" (answers one row too few,
 * then waits), "extra" (answers two lines for every row from the 51st on), "blank" (answers
 * an empty line for the 40th row), "endless" (answers a line that never ends). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "ok";
    printf("a,b,c\ny\n");
    fflush(stdout);
    if (strcmp(mode, "die") == 0) return 3;
    char line[4096];
    int rows = 0, seen = 0;
    while (fgets(line, sizeof line, stdin)) {
        if (line[0] == '\n') { /* end of a batch */
            fflush(stdout);
            rows = 0;
            continue;
        }
        if (strcmp(mode, "hang") == 0) {
            pause();
            continue;
        }
        if (strcmp(mode, "nan") == 0) {
            printf("nan\n");
            continue;
        }
        if (strcmp(mode, "garbage") == 0) {
            printf("hello world\n");
            continue;
        }
        if (strcmp(mode, "short") == 0 && rows++ > 0) continue;
        if (strcmp(mode, "endless") == 0) {
            static char digits[65536];
            memset(digits, '7', sizeof digits);
            for (;;)
                if (fwrite(digits, 1, sizeof digits, stdout) != sizeof digits) return 1;
        }
        if (strcmp(mode, "blank") == 0 && ++seen == 40) {
            printf("\n");
            continue;
        }
        double a = strtod(strtok(line, ","), NULL), b = strtod(strtok(NULL, ","), NULL),
               c = strtod(strtok(NULL, ",\n"), NULL);
        printf("%.17g\n", 0.5 * a - b + 2 * c + 0.1);
        if (strcmp(mode, "extra") == 0 && ++seen > 50) printf("%.17g\n", 0.5 * a - b + 2 * c + 0.1);
    }
    return 0;
}
