/* stream.c — event streams (wb/client.h): growable buffers of fixed-size records that clients
 * and translated code append to, and that Python drains.
 *
 * Nothing is ever dropped: when a stream passes its high-water mark (drain_bytes) the run is
 * asked to pause at the next block boundary (WB_REASON_DRAIN), Python copies the records out
 * and clears the stream, and the run continues where it stopped. Each hart appends to its own
 * segment of every stream (hart.h: wb_stream_seg), so harts never share a write position;
 * translated code appends inline (cur/end addressed from the hart) and calls
 * wb_stream_reserve for room. Python drains the segments hart by hart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"

#define WB_API __attribute__((visibility("default")))

static wb_stream_seg *seg_of(wb_hart *h, const wb_stream *s) { return &h->streams[s->index]; }

/* The hart appending on this host thread (a hook's), else hart 0 (run end, outside runs). */
static wb_hart *pushing_hart(wb_machine *m) {
  return wb_machine_self(m);
}

static void seg_set_end(wb_machine *m, wb_stream_seg *g) {
  uint64_t used = (uint64_t)(g->cur - g->buf), drain = m->clients->drain_bytes;
  uint64_t lim = g->cap;
  if (used < drain && drain < lim) lim = drain;
  g->end = g->buf + lim;
}

/* Allocate hart h's segment of stream s. 0, or -1 when out of memory. */
static int seg_init(wb_hart *h, const wb_stream *s) {
  wb_stream_seg *g = seg_of(h, s);
  g->cap = 1u << 20;
  g->buf = malloc(g->cap);
  if (!g->buf) { memset(g, 0, sizeof *g); return -1; }
  g->cur = g->buf;
  seg_set_end(h->m, g);
  return 0;
}

int wb_streams_hart_init(wb_hart *h) {
  wb_clients *c = h->m->clients;
  for (int i = 0; i < c->nstreams; i++)
    if (seg_init(h, c->streams[i]) != 0) {
      while (i-- > 0) free(seg_of(h, c->streams[i])->buf);
      return -1;
    }
  return 0;
}

WB_API wb_stream *wb_stream_new(wb_machine *m, const char *name, uint32_t record_size) {
  wb_clients *c = wb_clients_of(m);
  if (!c || c->nstreams >= WB_MAX_STREAMS || record_size == 0) return NULL;
  wb_stream *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->m = m;
  s->index = c->nstreams;
  s->record_size = record_size;
  snprintf(s->name, sizeof s->name, "%s", name);
  for (int i = 0; i < m->nharts; i++)
    if (seg_init(m->harts[i], s) != 0) {
      while (i-- > 0) { free(seg_of(m->harts[i], s)->buf); memset(seg_of(m->harts[i], s), 0, sizeof(wb_stream_seg)); }
      free(s);
      return NULL;
    }
  c->streams[c->nstreams++] = s;
  return s;
}

void wb_machine_request_drain(wb_machine *m) {
  if (m->drain_requested) return;
  m->drain_requested = 1;
  wb_machine_request_exit(m);
}

void wb_stream_reserve(wb_hart *h, wb_stream *s, uint64_t need) {
  wb_machine *m = s->m;
  wb_stream_seg *g = seg_of(h, s);
  uint64_t used = (uint64_t)(g->cur - g->buf);
  if (used + need > m->clients->drain_bytes) wb_machine_request_drain(m);
  if (used + need > g->cap) {
    uint64_t cap = g->cap;
    while (cap < used + need) cap *= 2;
    uint8_t *nb = cap <= WB_STREAM_HARD_CAP ? realloc(g->buf, cap) : NULL;
    if (!nb) {
      /* cannot happen with draining (it pauses far below the cap); refuse loudly, never
       * write out of bounds */
      wb_machine_stop(m, WB_REASON_INTERNAL, "event stream %s cannot grow past %llu bytes",
                      s->name, (unsigned long long)g->cap);
      g->cur = g->buf; /* drop nothing silently: the run stops with this message */
      return;
    }
    g->buf = nb;
    g->cur = nb + used;
    g->cap = cap;
  }
  seg_set_end(m, g);
  /* room beyond the drain mark must still be usable by translated code */
  if ((uint64_t)(g->end - g->cur) < need) g->end = g->buf + g->cap;
}

void *wb_stream_push_on(wb_hart *h, wb_stream *s) {
  wb_stream_seg *g = seg_of(h, s);
  if ((uint64_t)(g->end - g->cur) < s->record_size) wb_stream_reserve(h, s, s->record_size);
  if ((uint64_t)(g->buf + g->cap - g->cur) < s->record_size) {
    static __thread uint8_t sink[256]; /* only after a failed grow: the run is stopping */
    return memset(sink, 0, sizeof sink);
  }
  void *r = g->cur;
  memset(r, 0, s->record_size);
  g->cur += s->record_size;
  return r;
}

WB_API void *wb_stream_push(wb_stream *s) { return wb_stream_push_on(pushing_hart(s->m), s); }

WB_API int wb_machine_stream_count(const wb_machine *m) { return m->clients ? m->clients->nstreams : 0; }

WB_API const char *wb_machine_stream_name(const wb_machine *m, int i) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams) return NULL;
  return m->clients->streams[i]->name;
}

WB_API uint32_t wb_machine_stream_record_size(const wb_machine *m, int i) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams) return 0;
  return m->clients->streams[i]->record_size;
}

WB_API int wb_machine_hart_count(const wb_machine *m) { return m->nharts; }

WB_API uint64_t wb_machine_hart_instret(const wb_machine *m, int hart) {
  return hart >= 0 && hart < m->nharts ? m->harts[hart]->instret : 0;
}

WB_API const void *wb_machine_stream_data(const wb_machine *m, int i, int hart, uint64_t *nbytes) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams || hart < 0 || hart >= m->nharts) {
    *nbytes = 0;
    return NULL;
  }
  const wb_stream_seg *g = &m->harts[hart]->streams[i];
  *nbytes = (uint64_t)(g->cur - g->buf);
  return g->buf;
}

WB_API void wb_machine_stream_clear(wb_machine *m, int i) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams) return;
  wb_stream_reset(m->clients->streams[i]);
}

WB_API void wb_stream_reset(wb_stream *s) {
  for (int i = 0; i < s->m->nharts; i++) {
    wb_stream_seg *g = seg_of(s->m->harts[i], s);
    g->cur = g->buf;
    seg_set_end(s->m, g);
  }
}

WB_API void wb_machine_set_drain_bytes(wb_machine *m, uint64_t bytes) {
  wb_clients *c = wb_clients_of(m);
  if (!c) return;
  c->drain_bytes = bytes ? bytes : WB_DRAIN_BYTES_DEFAULT;
  for (int i = 0; i < c->nstreams; i++)
    for (int k = 0; k < m->nharts; k++) seg_set_end(m, seg_of(m->harts[k], c->streams[i]));
}

void wb_streams_fini(wb_machine *m) {
  wb_clients *c = m->clients;
  for (int i = 0; i < c->nstreams; i++) {
    for (int k = 0; k < m->nharts; k++) free(seg_of(m->harts[k], c->streams[i])->buf);
    free(c->streams[i]);
  }
  c->nstreams = 0;
}
