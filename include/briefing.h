/*
 * briefing: turns a briefing email's subject and text into items. The
 * subject becomes a clean title (forwarding prefixes and [list] tags
 * trimmed). A briefing laid out in headed sections (a Q&A under WORKLOAD,
 * PAY, WELLBEING... headings) is split into one item per section, titled
 * with its heading, so that each lands under its own theme. Pure.
 */
#ifndef BULLETIN_BRIEFING_H
#define BULLETIN_BRIEFING_H

#include <stdbool.h>
#include <stddef.h>

/* Fewer headings than this and the briefing stays one item. */
#define BRIEFING_MIN_SECTIONS 2
/* An introduction before the first heading with fewer words than this
 * is kept at the top of the first section instead of being an item. */
#define BRIEFING_MIN_INTRO_WORDS 25

struct briefing_item {
	char *title; /* owned */
	char *text;  /* owned */
};

/* The subject as a title: leading "Fwd:", "Fw:", "FW:" (any case, also
 * repeated and mixed with "Re:") and "[tag]" prefixes removed, blanks
 * collapsed, trimmed. A subject that is empty then, or NULL, gives
 * "(no subject)". Returns a malloc'd string, or NULL when out of memory. */
char *briefing_title(const char *subject);

/* Items from a briefing titled title with text text (UTF-8, "\n" line
 * ends). With split false, or fewer than BRIEFING_MIN_SECTIONS headings,
 * one item: title and the whole text. Otherwise one item per section,
 * titled "Heading: title" with the heading in sentence case ("RECRUITMENT
 * AND RETENTION" becomes "Recruitment and retention"), its text the
 * section's lines without the heading. An introduction before the first
 * heading is an item titled title when it has at least
 * BRIEFING_MIN_INTRO_WORDS words, else it heads the first section's text;
 * nothing is lost. A heading is a line on its own (blank line or start
 * before it), at most 60 characters, with at least 3 letters, all of its
 * letters upper case (digits, spaces and & / , - ' : allowed), and not
 * the last non-blank line. Returns 0 and sets *items (free with
 * briefing_items_free) and *n >= 1, or -ENOMEM. */
int briefing_split(const char *title, const char *text, bool split,
		   struct briefing_item **items, size_t *n);

void briefing_items_free(struct briefing_item *items, size_t n);

#endif
