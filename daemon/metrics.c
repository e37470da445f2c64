/*
 * metrics: counters in an array of C11 atomics (relaxed: each is a
 * count on its own, never read together with another for a decision),
 * and the text exposition. Names follow Prometheus' conventions:
 * bulletin_ prefix, _total on counters, _seconds on times, base units.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>

#include "metrics.h"

static _Atomic uint64_t counters[METRIC__COUNT];

void metrics_add(enum metric m, uint64_t n)
{
	if (m >= 0 && m < METRIC__COUNT)
		atomic_fetch_add_explicit(&counters[m], n,
					  memory_order_relaxed);
}

uint64_t metrics_get(enum metric m)
{
	if (m < 0 || m >= METRIC__COUNT)
		return 0;
	return atomic_load_explicit(&counters[m], memory_order_relaxed);
}

int metrics_label(struct buf *out, const char *s)
{
	int ret = 0;

	for (; *s && !ret; s++) {
		if (*s == '\\')
			ret = buf_adds(out, "\\\\");
		else if (*s == '"')
			ret = buf_adds(out, "\\\"");
		else if (*s == '\n')
			ret = buf_adds(out, "\\n");
		else
			ret = buf_addc(out, *s);
	}
	return ret;
}

static int family(struct buf *out, const char *name, const char *type,
		  const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			  type);
}

static int counter(struct buf *out, const char *name, const char *help,
		   uint64_t v)
{
	int ret = family(out, name, "counter", help);

	return ret ? ret
		   : buf_printf(out, "%s %llu\n", name, (unsigned long long)v);
}

static int gauge(struct buf *out, const char *name, const char *help, double v)
{
	int ret = family(out, name, "gauge", help);

	return ret ? ret : buf_printf(out, "%s %.17g\n", name, v);
}

struct sources_walk {
	struct buf *out;
	const struct config *cfg;
	int64_t now;
	bool failures; /* this pass writes failures, else last success */
};

static int source_line(const struct store_source *s, void *arg)
{
	struct sources_walk *w = arg;
	const char *name = w->failures ? "bulletin_source_failures"
				       : "bulletin_source_last_success_seconds";
	int ret;

	/* A source removed from the config keeps its row (its items
	 * stay), but is no longer watched. */
	if (!config_source_find(w->cfg, s->name))
		return 0;
	/* A source that never succeeded has no age: leaving it out is
	 * what Prometheus expects of a value that does not exist. */
	if (!w->failures && !s->last_success)
		return 0;
	ret = buf_printf(w->out, "%s{source=\"", name);
	if (!ret)
		ret = metrics_label(w->out, s->name);
	if (ret)
		return ret;
	if (w->failures)
		return buf_printf(w->out, "\"} %d\n", s->failures);
	return buf_printf(w->out, "\"} %lld\n",
			  (long long)(w->now > s->last_success
					      ? w->now - s->last_success
					      : 0));
}

static int render_store(struct buf *out, struct store *st,
			const struct config *cfg, int64_t now, struct err *err)
{
	struct store_delivery_counts c = {0};
	struct sources_walk w = {out, cfg, now, false};
	int ret;

	ret = store_outbox_counts(st, &c, err);
	if (ret)
		return ret;
	ret = family(out, "bulletin_outbox_messages", "gauge",
		     "Digest messages in the outbox (every digest kept), by "
		     "state.");
	if (!ret)
		ret = buf_printf(out,
				 "bulletin_outbox_messages{state=\"pending\"} "
				 "%lld\n"
				 "bulletin_outbox_messages{state=\"sending\"} "
				 "%lld\n"
				 "bulletin_outbox_messages{state=\"sent\"} "
				 "%lld\n"
				 "bulletin_outbox_messages{state=\"failed\"} "
				 "%lld\n",
				 (long long)c.pending, (long long)c.sending,
				 (long long)c.sent, (long long)c.failed);
	if (!ret)
		ret = gauge(out, "bulletin_outbox_depth",
			    "Digest messages still to go out (pending or "
			    "being sent).",
			    (double)(c.pending + c.sending));
	if (!ret)
		ret = family(out, "bulletin_source_last_success_seconds",
			     "gauge",
			     "Seconds since each source was last read "
			     "successfully (absent if never).");
	if (!ret)
		ret = store_sources_each(st, source_line, &w, err);
	if (!ret)
		ret = family(out, "bulletin_source_failures", "gauge",
			     "Consecutive failed fetches of each source.");
	w.failures = true;
	if (!ret)
		ret = store_sources_each(st, source_line, &w, err);
	return ret;
}

int metrics_render(struct buf *out, struct store *st, const struct config *cfg,
		   int64_t now, const struct metrics_extra *x, struct err *err)
{
	int ret;

	ret = family(out, "bulletin_fetches_total", "counter",
		     "Feed fetches since start, by result.");
	if (!ret)
		ret = buf_printf(
			out,
			"bulletin_fetches_total{result=\"ok\"} %llu\n"
			"bulletin_fetches_total{result=\"not_modified\"} %llu\n"
			"bulletin_fetches_total{result=\"failed\"} %llu\n"
			"bulletin_fetches_total{result=\"gone\"} %llu\n",
			(unsigned long long)metrics_get(METRIC_FETCH_OK),
			(unsigned long long)metrics_get(
				METRIC_FETCH_NOT_MODIFIED),
			(unsigned long long)metrics_get(METRIC_FETCH_FAILED),
			(unsigned long long)metrics_get(METRIC_FETCH_GONE));
	if (!ret)
		ret = counter(out, "bulletin_items_ingested_total",
			      "Items stored for the first time since start, "
			      "from feeds and mail.",
			      metrics_get(METRIC_ITEMS_NEW));
	if (!ret)
		ret = counter(out, "bulletin_items_updated_total",
			      "Stored items edited at their source since "
			      "start.",
			      metrics_get(METRIC_ITEMS_UPDATED));
	if (!ret)
		ret = counter(out, "bulletin_duplicates_total",
			      "New items found to repeat a stored story "
			      "since start.",
			      metrics_get(METRIC_DUPLICATES));
	if (!ret)
		ret = counter(out, "bulletin_digests_total",
			      "Digests composed to be sent since start.",
			      metrics_get(METRIC_DIGESTS));
	if (!ret)
		ret = counter(out, "bulletin_replies_absorbed_total",
			      "Automatic replies (confirmations, help) not "
			      "sent because a limit per address or per hour "
			      "was reached, since start.",
			      metrics_get(METRIC_REPLIES_ABSORBED));
	if (!ret)
		ret = counter(out, "bulletin_form_posts_absorbed_total",
			      "Subscribe-form posts over [http] form_per_ip, "
			      "answered as usual but sending nothing, since "
			      "start.",
			      metrics_get(METRIC_FORMS_ABSORBED));
	if (!ret)
		ret = family(out, "bulletin_deliveries_total", "counter",
			     "Attempts to deliver digest messages since "
			     "start, by result.");
	if (!ret)
		ret = buf_printf(
			out,
			"bulletin_deliveries_total{result=\"sent\"} %llu\n"
			"bulletin_deliveries_total{result=\"deferred\"} %llu\n"
			"bulletin_deliveries_total{result=\"failed\"} %llu\n",
			(unsigned long long)x->sent,
			(unsigned long long)x->deferred,
			(unsigned long long)x->failed);
	if (!ret)
		ret = counter(out, "bulletin_store_errors_total",
			      "Delivery outcomes the database could not "
			      "record since start.",
			      x->store_error);
	if (!ret)
		ret = gauge(out, "bulletin_start_time_seconds",
			    "When the daemon started, in seconds since the "
			    "epoch.",
			    (double)x->started);
	if (!ret)
		ret = gauge(out, "bulletin_loop_lag_seconds",
			    "The longest the event loop was late in the last "
			    "minute.",
			    x->loop_lag);
	if (!ret)
		ret = gauge(out, "bulletin_healthy",
			    "1 when GET /healthz answers 200, else 0.",
			    x->healthy ? 1 : 0);
	if (ret)
		return ret;
	return render_store(out, st, cfg, now, err);
}
