/* The C source of wordfreq.ssa, kept beside it for reading. The IL was
 * produced from this file by a C front end that emits QBE-style IL for
 * x86-64 Linux: pointers, long and size_t are 64-bit (`l`), and it calls
 * glibc's entry points. skc runs that IL unchanged on both targets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct word {
	char *text;
	long count;
};

static const char text[] =
	"the quick brown fox jumps over the lazy dog the dog sleeps "
	"and the fox runs over the hill to the quick river";

static int by_count_then_text(const void *a, const void *b)
{
	const struct word *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->text, y->text);
}

int main(int argc, char **argv)
{
	struct word *words = NULL;
	size_t n = 0, cap = 0;
	char *copy = strdup(text);
	int wanted = argc > 1 ? atoi(argv[1]) : 0;
	size_t shown = wanted > 0 ? (size_t)wanted : 5;

	for (char *w = copy; *w;) {
		char *end = strchr(w, ' ');
		char *next = end ? end + 1 : w + strlen(w);
		size_t i;
		if (end)
			*end = '\0';
		for (i = 0; i < n && strcmp(words[i].text, w) != 0; i++)
			;
		if (i == n) {
			if (n == cap) {
				cap = cap ? cap * 2 : 4;
				words = realloc(words, cap * sizeof *words);
			}
			words[n].text = w;
			words[n].count = 0;
			n++;
		}
		words[i].count++;
		w = next;
	}
	qsort(words, n, sizeof *words, by_count_then_text);
	printf("%zu distinct words\n", n);
	for (size_t i = 0; i < n && i < shown; i++)
		printf("%-6s %ld\n", words[i].text, words[i].count);
	free(words);
	free(copy);
	return 0;
}
