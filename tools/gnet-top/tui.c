/*
 * tui.c -- the interactive screen (ncurses): the summary, then the loops
 * or the actors, refreshed every delay, driven by single keys. The rows
 * are view.c's, as in plain text output. Keys act on the sample already
 * read (a new sort or filter shows at once); only the clock takes new
 * samples. The terminal is given back (endwin) before gnet-top says
 * anything on stderr or exits, whichever way it ends.
 */
#include <curses.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "top.h"

#define FIRST_WAIT_NS 200000000
#define KEY_CTRL_C 3
#define KEY_ESC 27

enum { PAIR_WARN = 1, PAIR_TITLE };

typedef struct tui {
	gnet_stats_t *s;
	top_options_t *o;
	top_sample_t *prev, *cur;
	const top_actor_t **shown;
	int shown_cap;
	int help;
	int scroll;             /* first actor row shown */
	int prompt;             /* typing a kind after '/' */
	char input[24];
	int color;
	SCREEN *screen;
} tui_t;

static const char *const help_text[] = {
	"gnet-top keys",
	"",
	"  l  a  Tab    loops view, actors view, switch",
	"  m  r  b  t   sort by mailbox depth, message rate, buffered bytes",
	"               (in + out), busy time (loops: CPU%)",
	"  i            natural order (loop, then handle)",
	"  s  >  <      next / previous sort",
	"  k            actors of the next kind; K all kinds",
	"  /            type a kind (Enter applies, Esc cancels, empty: all)",
	"  Up Down PgUp PgDn Home End   scroll the actors",
	"  space        sample now",
	"  ?  h         this help (any key closes it)",
	"  q            quit",
	"",
	"A loop in one turn for longer than --stall-ms is STALLED: a handler",
	"that blocks. Rates are per second between two samples; actor rates",
	"between two publications of the actor's row by its loop.",
	NULL
};

/* A line cut to the screen's width, in an attribute. */
static void
put_line(int y, const char *text, attr_t attr)
{
	if (y < 0 || y >= LINES)
		return;
	move(y, 0);
	clrtoeol();
	if (attr)
		attron(attr);
	mvaddnstr(y, 0, text, COLS);
	if (attr)
		attroff(attr);
}

static attr_t
warn_attr(const tui_t *t)
{
	return A_BOLD | (t->color ? COLOR_PAIR(PAIR_WARN) : 0);
}

static attr_t
title_attr(const tui_t *t)
{
	return A_REVERSE | (t->color ? COLOR_PAIR(PAIR_TITLE) : 0);
}

static int
draw_loops(tui_t *t, int y)
{
	char line[TOP_LINE_MAX], lines[256][TOP_LINE_MAX];
	int order[GNET_MAX_LOOPS], i, n;
	const top_sample_t *cur = t->cur;

	top_view_loop_header(line, sizeof line);
	put_line(y++, line, title_attr(t));
	top_sort_loops(cur, t->o->sort, order);
	for (i = 0; i < cur->nloops && y < LINES; i++) {
		const top_loop_t *l = &cur->loops[order[i]];

		top_view_loop_row(cur, l, line, sizeof line);
		put_line(y++, line, l->stalled ? warn_attr(t) : 0);
	}
	top_view_loop_row(cur, &cur->sum, line, sizeof line);
	put_line(y++, line, A_BOLD);
	n = top_view_sections(cur, COLS, lines, 256);
	if (n > 0)
		y++;
	for (i = 0; i < n && y < LINES; i++)
		put_line(y++, lines[i], i == 0 ? title_attr(t) : 0);
	return y;
}

static int
draw_actors(tui_t *t, int y)
{
	char line[TOP_LINE_MAX];
	const top_sample_t *cur = t->cur;
	int n = 0, i, rows;

	if (cur->nactors > t->shown_cap) {
		const top_actor_t **p = realloc(t->shown,
		    (size_t)cur->nactors * sizeof(*p));
		if (p != NULL) {
			t->shown = p;
			t->shown_cap = cur->nactors;
		}
	}
	if (t->shown != NULL && cur->nactors <= t->shown_cap)
		n = top_select_actors(cur, t->o->kind, t->o->sort, t->shown);
	rows = LINES - y - 2;
	if (rows < 1)
		rows = 1;
	if (t->scroll > n - rows)
		t->scroll = n - rows;
	if (t->scroll < 0)
		t->scroll = 0;
	top_view_actor_title(cur, t->o, n, line, sizeof line);
	if (n > rows)
		snprintf(line + strlen(line), sizeof line - strlen(line),
		    ", rows %d-%d", t->scroll + 1,
		    t->scroll + rows < n ? t->scroll + rows : n);
	put_line(y++, line, 0);
	top_view_actor_header(line, sizeof line);
	put_line(y++, line, title_attr(t));
	for (i = t->scroll; i < n && y < LINES; i++) {
		top_view_actor_row(t->shown[i], line, sizeof line);
		put_line(y++, line, 0);
	}
	return y;
}

static void
draw_help(tui_t *t)
{
	int y;

	erase();
	for (y = 0; help_text[y] != NULL && y < LINES; y++)
		put_line(y, help_text[y], y == 0 ? A_BOLD : 0);
	refresh();
}

static void
draw(tui_t *t)
{
	char lines[GNET_MAX_LOOPS + 16][TOP_LINE_MAX], line[TOP_LINE_MAX];
	char delay[16];
	int n, i, y = 0;

	if (t->help) {
		draw_help(t);
		return;
	}
	erase();
	n = top_view_summary(t->cur, t->o, lines,
	    (int)(sizeof lines / sizeof *lines));
	for (i = 0; i < n; i++)
		put_line(y++, lines[i], strncmp(lines[i], "WARNING", 7) == 0 ?
		    warn_attr(t) : 0);
	top_fmt_ms(delay, sizeof delay, (uint64_t)(t->o->delay_s * 1000));
	if (t->prompt)
		snprintf(line, sizeof line, "kind (Enter: apply, Esc: cancel, "
		    "empty: all): %s_", t->input);
	else
		snprintf(line, sizeof line, "view: %s (l a Tab)  sort: %s "
		    "(m r b t i s)  kind: %s (k K /)  every %s  ? help  q quit",
		    t->o->view == TOP_VIEW_LOOPS ? "loops" : "actors",
		    top_sort_name(t->o->sort),
		    t->o->kind[0] ? t->o->kind : "all", delay);
	put_line(y++, line, t->prompt ? A_BOLD : 0);
	y++;
	if (t->o->view == TOP_VIEW_LOOPS)
		draw_loops(t, y);
	else
		draw_actors(t, y);
	refresh();
}

/* A key while typing a kind. */
static void
prompt_key(tui_t *t, int ch)
{
	size_t len = strlen(t->input);

	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		snprintf(t->o->kind, sizeof t->o->kind, "%s", t->input);
		t->prompt = 0;
		t->scroll = 0;
	} else if (ch == KEY_ESC) {
		t->prompt = 0;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (len > 0)
			t->input[len - 1] = '\0';
	} else if (ch >= 0x20 && ch < 0x7f && len + 1 < sizeof t->input) {
		t->input[len] = (char)ch;
		t->input[len + 1] = '\0';
	}
}

static void
set_sort(tui_t *t, int k)
{
	t->o->sort = (top_sort_t)((k + TOP_SORT_COUNT) % TOP_SORT_COUNT);
	t->scroll = 0;
}

/* A key: 1 to quit, 2 to sample now, 0 otherwise. */
static int
key(tui_t *t, int ch)
{
	int page = LINES > 12 ? LINES - 10 : 1;

	if (t->prompt) {
		prompt_key(t, ch);
		return 0;
	}
	if (t->help && ch != KEY_RESIZE) {
		t->help = 0;
		return ch == 'q' || ch == 'Q' || ch == KEY_CTRL_C;
	}
	switch (ch) {
	case 'q': case 'Q': case KEY_CTRL_C:
		return 1;
	case '?': case 'h': t->help = 1; break;
	case 'l': t->o->view = TOP_VIEW_LOOPS; break;
	case 'a': t->o->view = TOP_VIEW_ACTORS; break;
	case '\t':
		t->o->view = t->o->view == TOP_VIEW_LOOPS ? TOP_VIEW_ACTORS :
		    TOP_VIEW_LOOPS;
		break;
	case 'm': set_sort(t, TOP_SORT_MAILBOX); break;
	case 'r': set_sort(t, TOP_SORT_RATE); break;
	case 'b': set_sort(t, TOP_SORT_BYTES); break;
	case 't': set_sort(t, TOP_SORT_BUSY); break;
	case 'i': set_sort(t, TOP_SORT_NATURAL); break;
	case 's': case '>': set_sort(t, (int)t->o->sort + 1); break;
	case '<': set_sort(t, (int)t->o->sort - 1); break;
	case 'k':
		top_next_kind(t->cur, t->o->kind, sizeof t->o->kind);
		t->scroll = 0;
		break;
	case 'K': t->o->kind[0] = '\0'; t->scroll = 0; break;
	case '/':
		t->prompt = 1;
		snprintf(t->input, sizeof t->input, "%s", t->o->kind);
		break;
	case KEY_UP: t->scroll--; break;
	case KEY_DOWN: t->scroll++; break;
	case KEY_PPAGE: t->scroll -= page; break;
	case KEY_NPAGE: t->scroll += page; break;
	case KEY_HOME: t->scroll = 0; break;
	case KEY_END: t->scroll = 1 << 30; break;
	case ' ': return 2;
	default: break;
	}
	return 0;
}

static int
sample(tui_t *t, int *rc)
{
	top_sample_t *p = t->prev;
	int trc;

	t->prev = t->cur;
	t->cur = p;
	trc = top_sample_take(t->s, t->cur, t->prev, t->o->stall_ms);
	if (trc != 0) {
		*rc = trc == GNET_ENOMEM ? TOP_EXIT_SOFTWARE : TOP_EXIT_GONE;
		return trc;
	}
	return 0;
}

static int
start_screen(tui_t *t)
{
	setlocale(LC_ALL, "");
	if ((t->screen = newterm(NULL, stdout, stdin)) == NULL) {
		fprintf(stderr, "gnet-top: cannot use the terminal (TERM=%s): "
		    "try -b\n", getenv("TERM") ? getenv("TERM") : "");
		return TOP_EXIT_OSERR;
	}
	raw();          /* ^C is a key (quit), not a signal */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_WARN, COLOR_RED, -1);
		init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
		t->color = 1;
	}
	return TOP_EXIT_OK;
}

int
top_tui_run(gnet_stats_t *s, top_options_t *o)
{
	tui_t t = { .s = s, .o = o };
	int64_t delay_ns = (int64_t)(o->delay_s * 1e9), next;
	int rc = TOP_EXIT_OK, trc = 0, gone = 0, up = 0;
	char label[GNET_STATS_NAME_MAX + 32];

	t.prev = calloc(1, sizeof *t.prev);
	t.cur = calloc(1, sizeof *t.cur);
	if (t.prev == NULL || t.cur == NULL) {
		fprintf(stderr, "gnet-top: out of memory\n");
		rc = TOP_EXIT_SOFTWARE;
		goto out;
	}
	/* Read once before the screen: a bad engine is an error message
	 * on a normal terminal. */
	top_sample_watch(s);
	if ((trc = top_sample_take(s, t.cur, NULL, o->stall_ms)) != 0) {
		rc = trc == GNET_ENOMEM ? TOP_EXIT_SOFTWARE : TOP_EXIT_GONE;
		goto out;
	}
	if (!t.cur->eng.alive) {
		gone = 1;
		rc = TOP_EXIT_GONE;
		goto out;
	}
	if ((rc = start_screen(&t)) != TOP_EXIT_OK)
		goto out;
	up = 1;
	draw(&t);
	next = t.cur->mono_ns + (delay_ns < FIRST_WAIT_NS ? delay_ns :
	    FIRST_WAIT_NS);
	for (;;) {
		int64_t left = next - top_now_ns();
		int ch, k = 0;

		/* At least once a second: the engine must see it is
		 * watched, or its loops stop publishing actor rows. */
		if (left > TOP_WATCH_EVERY_NS)
			left = TOP_WATCH_EVERY_NS;
		timeout(left > 0 ? (int)(left / 1000000) + 1 : 0);
		ch = getch();
		if (ch != ERR) {
			if ((k = key(&t, ch)) == 1)
				break;
			/* Keys come before the clock, but a held key must
			 * not stop the sampling. */
			if (k != 2 && top_now_ns() < next) {
				draw(&t);
				continue;
			}
		} else if (top_now_ns() < next) {
			top_sample_watch(s);
			continue;
		}
		if ((trc = sample(&t, &rc)) != 0)
			break;
		if (!t.cur->eng.alive) {
			gone = 1;
			rc = TOP_EXIT_GONE;
			break;
		}
		draw(&t);
		next = k == 2 ? t.cur->mono_ns + delay_ns : next + delay_ns;
		if (next < top_now_ns())
			next = top_now_ns() + delay_ns;
	}
out:
	if (up) {
		endwin();
		delscreen(t.screen);
	}
	if (gone)
		fprintf(stderr, "gnet-top: engine %s is not running any more\n",
		    top_engine_label(&t.cur->eng, label, sizeof label));
	else if (trc != 0)
		fprintf(stderr, "gnet-top: cannot read the engine: %s\n",
		    gnet_strerror(trc));
	if (t.prev != NULL)
		top_sample_free(t.prev);
	if (t.cur != NULL)
		top_sample_free(t.cur);
	free(t.prev);
	free(t.cur);
	free(t.shown);
	return rc;
}
