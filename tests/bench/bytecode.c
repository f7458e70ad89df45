/*
 * bytecode.c - a stack-based bytecode interpreter with 64 opcodes, all
 * dispatched by one switch, running programs assembled at start-up:
 * a sieve of primes, recursive Fibonacci, Collatz chain lengths, and a
 * loop mixing every arithmetic and comparison opcode into a hash.
 *
 * Values are 64-bit; arithmetic wraps (computed unsigned). Division and
 * remainder by zero give zero. The output is the same on LP64 and ILP32.
 *
 * usage: bytecode [n]       (default 2000; the work grows with n)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef long long i64;
typedef unsigned long long u64;

enum op {
	HALT, NOP, PUSH, PUSH0, PUSH1, POP, DUP, SWAP, OVER, ROT,
	ADD, SUB, MUL, DIV, MOD, NEG, AND, OR, XOR, NOT,
	SHL, SHR, SAR, EQ, NE, LT, LE, GT, GE, LTU,
	JMP, JZ, JNZ, LOAD, STORE, LOAD0, LOAD1, LOAD2, LOAD3, STORE0,
	STORE1, STORE2, STORE3, INC, DEC, ADDI, MULI, GLOAD, GSTORE, ALOAD,
	ASTORE, ALEN, CALL, RET, PRINT, HASH, MIN, MAX, ABS, SQR,
	JLT, JGE, HALF, TWICE,
	NOPS
};

#define STACK 4096
#define FRAMES 1024
#define LOCALS 8
#define GLOBALS 16
#define CODE 4096

static int code[CODE];
static int ncode;

static void emit(int x)
{
	if (ncode >= CODE) {
		fprintf(stderr, "program too long\n");
		exit(2);
	}
	code[ncode++] = x;
}

static void op0(int op) { emit(op); }
static void op1(int op, int a) { emit(op); emit(a); }
static int here(void) { return ncode; }

/* A forward jump: emits the opcode and returns where its target goes. */
static int jump(int op)
{
	emit(op);
	emit(0);
	return ncode - 1;
}

static void patch(int at, int target) { code[at] = target; }

struct vm {
	i64 stack[STACK];
	int sp;
	i64 locals[FRAMES][LOCALS];
	int ret_pc[FRAMES];
	int ret_sp[FRAMES];
	int fp;
	i64 globals[GLOBALS];
	i64 *array;
	i64 len;
	u64 hash;
	u64 steps;
	int printed;
	i64 out[16];
};

static i64 wrap(u64 x) { return (i64)x; }

static i64 run(struct vm *m, int pc)
{
	i64 *s = m->stack;
	int sp = m->sp;
	i64 a, b, c;

	for (;;) {
		int op = code[pc++];
		m->steps++;
		switch (op) {
		case HALT:
			m->sp = sp;
			return sp > 0 ? s[sp - 1] : 0;
		case NOP:
			break;
		case PUSH:
			s[sp++] = code[pc++];
			break;
		case PUSH0:
			s[sp++] = 0;
			break;
		case PUSH1:
			s[sp++] = 1;
			break;
		case POP:
			sp--;
			break;
		case DUP:
			s[sp] = s[sp - 1];
			sp++;
			break;
		case SWAP:
			a = s[sp - 1];
			s[sp - 1] = s[sp - 2];
			s[sp - 2] = a;
			break;
		case OVER:
			s[sp] = s[sp - 2];
			sp++;
			break;
		case ROT:
			a = s[sp - 3];
			s[sp - 3] = s[sp - 2];
			s[sp - 2] = s[sp - 1];
			s[sp - 1] = a;
			break;
		case ADD:
			sp--;
			s[sp - 1] = wrap((u64)s[sp - 1] + (u64)s[sp]);
			break;
		case SUB:
			sp--;
			s[sp - 1] = wrap((u64)s[sp - 1] - (u64)s[sp]);
			break;
		case MUL:
			sp--;
			s[sp - 1] = wrap((u64)s[sp - 1] * (u64)s[sp]);
			break;
		case DIV:
			sp--;
			b = s[sp];
			a = s[sp - 1];
			s[sp - 1] = b == 0 || (b == -1 && a < -0x7fffffffffffffffLL) ? 0 : a / b;
			break;
		case MOD:
			sp--;
			b = s[sp];
			a = s[sp - 1];
			s[sp - 1] = b == 0 || b == -1 ? 0 : a % b;
			break;
		case NEG:
			s[sp - 1] = wrap(0 - (u64)s[sp - 1]);
			break;
		case AND:
			sp--;
			s[sp - 1] &= s[sp];
			break;
		case OR:
			sp--;
			s[sp - 1] |= s[sp];
			break;
		case XOR:
			sp--;
			s[sp - 1] ^= s[sp];
			break;
		case NOT:
			s[sp - 1] = ~s[sp - 1];
			break;
		case SHL:
			sp--;
			s[sp - 1] = wrap((u64)s[sp - 1] << (s[sp] & 63));
			break;
		case SHR:
			sp--;
			s[sp - 1] = wrap((u64)s[sp - 1] >> (s[sp] & 63));
			break;
		case SAR:
			sp--;
			a = s[sp - 1];
			b = s[sp] & 63;
			s[sp - 1] = a < 0 ? ~(~a >> b) : a >> b;
			break;
		case EQ:
			sp--;
			s[sp - 1] = s[sp - 1] == s[sp];
			break;
		case NE:
			sp--;
			s[sp - 1] = s[sp - 1] != s[sp];
			break;
		case LT:
			sp--;
			s[sp - 1] = s[sp - 1] < s[sp];
			break;
		case LE:
			sp--;
			s[sp - 1] = s[sp - 1] <= s[sp];
			break;
		case GT:
			sp--;
			s[sp - 1] = s[sp - 1] > s[sp];
			break;
		case GE:
			sp--;
			s[sp - 1] = s[sp - 1] >= s[sp];
			break;
		case LTU:
			sp--;
			s[sp - 1] = (u64)s[sp - 1] < (u64)s[sp];
			break;
		case JMP:
			pc = code[pc];
			break;
		case JZ:
			if (s[--sp] == 0)
				pc = code[pc];
			else
				pc++;
			break;
		case JNZ:
			if (s[--sp] != 0)
				pc = code[pc];
			else
				pc++;
			break;
		case LOAD:
			s[sp++] = m->locals[m->fp][code[pc++]];
			break;
		case STORE:
			m->locals[m->fp][code[pc++]] = s[--sp];
			break;
		case LOAD0:
			s[sp++] = m->locals[m->fp][0];
			break;
		case LOAD1:
			s[sp++] = m->locals[m->fp][1];
			break;
		case LOAD2:
			s[sp++] = m->locals[m->fp][2];
			break;
		case LOAD3:
			s[sp++] = m->locals[m->fp][3];
			break;
		case STORE0:
			m->locals[m->fp][0] = s[--sp];
			break;
		case STORE1:
			m->locals[m->fp][1] = s[--sp];
			break;
		case STORE2:
			m->locals[m->fp][2] = s[--sp];
			break;
		case STORE3:
			m->locals[m->fp][3] = s[--sp];
			break;
		case INC:
			m->locals[m->fp][code[pc++]]++;
			break;
		case DEC:
			m->locals[m->fp][code[pc++]]--;
			break;
		case ADDI:
			s[sp - 1] = wrap((u64)s[sp - 1] + (u64)(i64)code[pc++]);
			break;
		case MULI:
			s[sp - 1] = wrap((u64)s[sp - 1] * (u64)(i64)code[pc++]);
			break;
		case GLOAD:
			s[sp++] = m->globals[code[pc++]];
			break;
		case GSTORE:
			m->globals[code[pc++]] = s[--sp];
			break;
		case ALOAD:
			a = s[sp - 1];
			s[sp - 1] = a >= 0 && a < m->len ? m->array[a] : 0;
			break;
		case ASTORE:
			/* value index -- */
			sp -= 2;
			a = s[sp + 1];
			if (a >= 0 && a < m->len)
				m->array[a] = s[sp];
			break;
		case ALEN:
			s[sp++] = m->len;
			break;
		case CALL:
			/* CALL target nargs: arguments become locals 0.. */
			if (m->fp + 1 >= FRAMES) {
				fprintf(stderr, "call stack overflow\n");
				exit(3);
			}
			c = code[pc + 1];
			m->fp++;
			for (b = c - 1; b >= 0; b--)
				m->locals[m->fp][b] = s[--sp];
			m->ret_pc[m->fp] = pc + 2;
			m->ret_sp[m->fp] = sp;
			pc = code[pc];
			break;
		case RET:
			a = s[sp - 1];
			sp = m->ret_sp[m->fp];
			pc = m->ret_pc[m->fp];
			m->fp--;
			s[sp++] = a;
			break;
		case PRINT:
			if (m->printed < 16)
				m->out[m->printed++] = s[sp - 1];
			sp--;
			break;
		case HASH:
			m->hash = (m->hash ^ (u64)s[--sp]) * 1099511628211ULL;
			break;
		case MIN:
			sp--;
			if (s[sp] < s[sp - 1])
				s[sp - 1] = s[sp];
			break;
		case MAX:
			sp--;
			if (s[sp] > s[sp - 1])
				s[sp - 1] = s[sp];
			break;
		case ABS:
			if (s[sp - 1] < 0)
				s[sp - 1] = wrap(0 - (u64)s[sp - 1]);
			break;
		case SQR:
			s[sp - 1] = wrap((u64)s[sp - 1] * (u64)s[sp - 1]);
			break;
		case JLT:
			sp -= 2;
			if (s[sp] < s[sp + 1])
				pc = code[pc];
			else
				pc++;
			break;
		case JGE:
			sp -= 2;
			if (s[sp] >= s[sp + 1])
				pc = code[pc];
			else
				pc++;
			break;
		case HALF:
			s[sp - 1] /= 2;
			break;
		case TWICE:
			s[sp - 1] = wrap((u64)s[sp - 1] * 2);
			break;
		default:
			fprintf(stderr, "bad opcode %d at %d\n", op, pc - 1);
			exit(4);
		}
		if (sp < 0 || sp >= STACK - 4) {
			fprintf(stderr, "stack out of range at %d\n", pc);
			exit(5);
		}
	}
}

/* Counts the primes below n (the array has n cells). Local 0 = i, 1 = j. */
static int sieve_program(void)
{
	int start = here(), outer, inner, skip, outer_end, inner_end, count, count_end;

	/* for (i = 2; i < n; i++) a[i] = 1; */
	op0(PUSH1); op0(PUSH1); op0(ADD); op0(STORE0);
	outer = here();
	op0(LOAD0); op0(ALEN); outer_end = jump(JGE);
	op0(PUSH1); op0(LOAD0); op0(ASTORE);
	op1(INC, 0); op1(JMP, outer);
	patch(outer_end, here());
	/* for (i = 2; i * i < n; i++) if (a[i]) for (j = i*i; j < n; j += i) a[j] = 0; */
	op1(PUSH, 2); op0(STORE0);
	outer = here();
	op0(LOAD0); op0(SQR); op0(ALEN); outer_end = jump(JGE);
	op0(LOAD0); op0(ALOAD); skip = jump(JZ);
	op0(LOAD0); op0(SQR); op0(STORE1);
	inner = here();
	op0(LOAD1); op0(ALEN); inner_end = jump(JGE);
	op0(PUSH0); op0(LOAD1); op0(ASTORE);
	op0(LOAD1); op0(LOAD0); op0(ADD); op0(STORE1);
	op1(JMP, inner);
	patch(inner_end, here());
	patch(skip, here());
	op1(INC, 0); op1(JMP, outer);
	patch(outer_end, here());
	/* count */
	op0(PUSH0); op0(STORE2); op0(PUSH0); op0(STORE0);
	count = here();
	op0(LOAD0); op0(ALEN); count_end = jump(JGE);
	op0(LOAD2); op0(LOAD0); op0(ALOAD); op0(ADD); op0(STORE2);
	op1(INC, 0); op1(JMP, count);
	patch(count_end, here());
	op0(LOAD2); op0(PRINT); op0(HALT);
	return start;
}

/* fib(k) by the recursive definition; k is global 0. */
static int fib_program(void)
{
	int start = here(), fib, base, call;

	call = jump(JMP);
	fib = here();
	/* fib: local 0 = k */
	op0(LOAD0); op1(PUSH, 2); base = jump(JLT);
	op0(LOAD0); op1(ADDI, -1); op1(CALL, fib); emit(1);
	op0(LOAD0); op1(ADDI, -2); op1(CALL, fib); emit(1);
	op0(ADD); op0(RET);
	patch(base, here());
	op0(LOAD0); op0(RET);
	patch(call, here());
	op1(GLOAD, 0); op1(CALL, fib); emit(1);
	op0(PRINT); op0(HALT);
	return start;
}

/* Sum of Collatz chain lengths for 1..n (n is global 1). */
static int collatz_program(void)
{
	int start = here(), outer, outer_end, chain, chain_end, odd, next;

	op0(PUSH0); op0(STORE2);
	op0(PUSH1); op0(STORE0);
	outer = here();
	op0(LOAD0); op1(GLOAD, 1); outer_end = jump(JGE);
	op0(LOAD0); op0(STORE1);
	chain = here();
	op0(LOAD1); op0(PUSH1); op0(LE); chain_end = jump(JNZ);
	op0(LOAD1); op0(PUSH1); op0(AND); odd = jump(JNZ);
	op0(LOAD1); op0(HALF); op0(STORE1); next = jump(JMP);
	patch(odd, here());
	op0(LOAD1); op1(MULI, 3); op1(ADDI, 1); op0(STORE1);
	patch(next, here());
	op1(INC, 2); op1(JMP, chain);
	patch(chain_end, here());
	op1(INC, 0); op1(JMP, outer);
	patch(outer_end, here());
	op0(LOAD2); op0(PRINT); op0(HALT);
	return start;
}

/* Every other opcode, n (global 1) times, into the hash. */
static int mix_program(void)
{
	int start = here(), loop, end, skip;

	op1(PUSH, 12345); op0(STORE1);
	op0(PUSH0); op0(STORE0);
	loop = here();
	op0(LOAD0); op1(GLOAD, 1); end = jump(JGE);
	op0(LOAD1); op1(MULI, 1103515245); op1(ADDI, 12345); op0(DUP); op0(STORE1);
	op0(DUP); op1(PUSH, 7); op0(SHR); op0(XOR); op0(DUP); op0(HASH);
	op0(DUP); op0(LOAD0); op0(SUB); op0(NEG); op0(ABS); op0(HASH);
	op0(DUP); op1(PUSH, 1000); op0(MOD); op0(LOAD0); op0(PUSH1); op0(OR); op0(DIV); op0(HASH);
	op0(LOAD0); op0(OVER); op0(MIN); op0(LOAD0); op0(ROT); op0(MAX); op0(SWAP); op0(SUB); op0(HASH);
	op0(LOAD0); op1(PUSH, 5); op0(SHL); op0(NOT); op1(PUSH, 3); op0(SAR); op0(TWICE); op0(LOAD0); op0(MUL); op0(HASH);
	op0(LOAD0); op1(PUSH, 3); op0(AND); op0(STORE3);
	op0(LOAD3); op0(PUSH1); op0(EQ); op0(LOAD3); op1(PUSH, 2); op0(NE); op0(ADD);
	op0(LOAD3); op1(PUSH, 2); op0(LT); op0(ADD); op0(LOAD3); op1(PUSH, 2); op0(LE); op0(ADD);
	op0(LOAD3); op0(PUSH1); op0(GT); op0(ADD); op0(LOAD3); op0(PUSH1); op0(GE); op0(ADD);
	op0(LOAD3); op0(PUSH0); op0(LTU); op0(ADD); op0(HASH);
	op0(LOAD0); op1(GSTORE, 2); op1(GLOAD, 2); op0(STORE2); op0(LOAD2); op1(STORE, 4); op1(LOAD, 4);
	op0(NOP); op1(DEC, 4); op1(LOAD, 4); op0(SUB); op0(HASH);
	op0(LOAD0); op0(ALEN); op0(MOD); op0(DUP); op0(ALOAD); op0(SWAP); op0(POP); op0(HASH);
	op0(LOAD0); op1(PUSH, 16); op0(MOD); skip = jump(JNZ);
	op0(LOAD0); op0(HALF); op0(HASH);
	patch(skip, here());
	op1(INC, 0); op1(JMP, loop);
	patch(end, here());
	op0(PUSH0); op0(PRINT); op0(HALT);
	return start;
}

static u64 rng_state = 0x2545f4914f6cdd1dULL;

static u64 next_random(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

int main(int argc, char **argv)
{
	int n = 2000, fib_k, sieve_n, i;
	int sieve, fib, collatz, mix;
	struct vm *m;
	u64 steps;

	if (argc > 1)
		n = atoi(argv[1]);
	if (n < 10)
		n = 10;
	if (n > 1000000)
		n = 1000000;
	sieve = sieve_program();
	fib = fib_program();
	collatz = collatz_program();
	mix = mix_program();

	m = calloc(1, sizeof *m);
	if (!m)
		return 1;
	sieve_n = n * 20;
	m->len = sieve_n;
	m->array = calloc((size_t)sieve_n, sizeof *m->array);
	if (!m->array)
		return 1;
	m->hash = 14695981039346656037ULL;
	fib_k = 16;
	while (fib_k < 40 && (1LL << (fib_k - 12)) < n)
		fib_k++;
	m->globals[0] = fib_k;
	m->globals[1] = n * 4;

	run(m, sieve);
	run(m, fib);
	run(m, collatz);
	for (i = 0; i < sieve_n; i++)
		m->array[i] = (i64)(next_random() >> 20);
	run(m, mix);
	steps = m->steps;
	printf("primes=%lld fib(%d)=%lld collatz=%lld hash=%llu steps=%llu\n",
	       m->out[0], fib_k, m->out[1], m->out[2], m->hash, steps);
	free(m->array);
	free(m);
	return 0;
}
