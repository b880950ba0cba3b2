/* stream.c — event streams (wb/client.h): growable buffers of fixed-size records that clients
 * and translated code append to, and that Python drains.
 *
 * Nothing is ever dropped: when a stream passes its high-water mark (drain_bytes) the run is
 * asked to pause at the next block boundary (WB_REASON_DRAIN), Python copies the records out
 * and clears the stream, and the run continues where it stopped. Translated code appends
 * inline (it reads `cur` and `end`, client.h) and calls wb_stream_reserve for room.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"

#define WB_API __attribute__((visibility("default")))

static void stream_set_end(wb_stream *s) {
  uint64_t used = (uint64_t)(s->cur - s->buf), drain = s->m->clients->drain_bytes;
  uint64_t lim = s->cap;
  if (used < drain && drain < lim) lim = drain;
  s->end = s->buf + lim;
}

WB_API wb_stream *wb_stream_new(wb_machine *m, const char *name, uint32_t record_size) {
  wb_clients *c = wb_clients_of(m);
  if (!c || c->nstreams >= WB_MAX_STREAMS || record_size == 0) return NULL;
  wb_stream *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->m = m;
  s->record_size = record_size;
  snprintf(s->name, sizeof s->name, "%s", name);
  s->cap = 1u << 20;
  s->buf = malloc(s->cap);
  if (!s->buf) { free(s); return NULL; }
  s->cur = s->buf;
  stream_set_end(s);
  c->streams[c->nstreams++] = s;
  return s;
}

void wb_machine_request_drain(wb_machine *m) {
  if (m->drain_requested) return;
  m->drain_requested = 1;
  wb_machine_request_exit(m);
}

void wb_stream_reserve(wb_stream *s, uint64_t need) {
  uint64_t used = (uint64_t)(s->cur - s->buf);
  if (used + need > s->m->clients->drain_bytes) wb_machine_request_drain(s->m);
  if (used + need > s->cap) {
    uint64_t cap = s->cap;
    while (cap < used + need) cap *= 2;
    uint8_t *nb = cap <= WB_STREAM_HARD_CAP ? realloc(s->buf, cap) : NULL;
    if (!nb) {
      /* cannot happen with draining (it pauses far below the cap); refuse loudly, never
       * write out of bounds */
      wb_machine_stop(s->m, WB_REASON_INTERNAL, "event stream %s cannot grow past %llu bytes",
                      s->name, (unsigned long long)s->cap);
      s->cur = s->buf; /* drop nothing silently: the run stops with this message */
      return;
    }
    s->buf = nb;
    s->cur = nb + used;
    s->cap = cap;
  }
  stream_set_end(s);
  /* room beyond the drain mark must still be usable by translated code */
  if ((uint64_t)(s->end - s->cur) < need) s->end = s->buf + s->cap;
}

WB_API void *wb_stream_push(wb_stream *s) {
  if ((uint64_t)(s->end - s->cur) < s->record_size) wb_stream_reserve(s, s->record_size);
  if ((uint64_t)(s->buf + s->cap - s->cur) < s->record_size) {
    static __thread uint8_t sink[256]; /* only after a failed grow: the run is stopping */
    return memset(sink, 0, sizeof sink);
  }
  void *r = s->cur;
  memset(r, 0, s->record_size);
  s->cur += s->record_size;
  return r;
}

WB_API int wb_machine_stream_count(const wb_machine *m) { return m->clients ? m->clients->nstreams : 0; }

WB_API const char *wb_machine_stream_name(const wb_machine *m, int i) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams) return NULL;
  return m->clients->streams[i]->name;
}

WB_API uint32_t wb_machine_stream_record_size(const wb_machine *m, int i) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams) return 0;
  return m->clients->streams[i]->record_size;
}

WB_API const void *wb_machine_stream_data(const wb_machine *m, int i, uint64_t *nbytes) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams) { *nbytes = 0; return NULL; }
  wb_stream *s = m->clients->streams[i];
  *nbytes = (uint64_t)(s->cur - s->buf);
  return s->buf;
}

WB_API void wb_machine_stream_clear(wb_machine *m, int i) {
  if (!m->clients || i < 0 || i >= m->clients->nstreams) return;
  wb_stream_reset(m->clients->streams[i]);
}

void wb_stream_reset(wb_stream *s) {
  s->cur = s->buf;
  stream_set_end(s);
}

WB_API void wb_machine_set_drain_bytes(wb_machine *m, uint64_t bytes) {
  wb_clients *c = wb_clients_of(m);
  if (!c) return;
  c->drain_bytes = bytes ? bytes : WB_DRAIN_BYTES_DEFAULT;
  for (int i = 0; i < c->nstreams; i++) stream_set_end(c->streams[i]);
}
