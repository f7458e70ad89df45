#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int i;
    long l;
    char word[32];
    double d;
    int got = scanf("%d %ld %31s %lf", &i, &l, word, &d);
    printf("scanf %d: %d %ld %s %.3f\n", got, i, l, word, d);
    int c = getchar();
    c = getchar();
    ungetc(c, stdin);
    char line[64];
    if (fgets(line, sizeof line, stdin))
        printf("fgets [%s] %zu\n", line, strlen(line));
    got = fscanf(stdin, "%lx %zu", &l, (size_t *)&i);
    printf("fscanf %d %lx %d eof=%d err=%d\n", got, l, i, feof(stdin) != 0, ferror(stdin) != 0);
    printf("no varargs\n");
    fflush(stdout);
    assert(argc == 1 && "needs no arguments");
    return 0;
}
