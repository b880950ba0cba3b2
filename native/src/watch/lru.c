/* lru.c — a fully associative set of N 64-bit keys with least-recently-used replacement: the
 * shape of both of the unit's caches (the range cache keyed by a run's first byte, the bitmap
 * lookaside buffer by a line number). The hardware searches all entries at once; the model
 * finds an entry through a hash of its key instead, and keeps the LRU order as a doubly
 * linked list through the entries. Each entry also carries the stamp of its last use, which
 * entries written in its place (wb_lru_insert_after) share: the range cache orders the entries
 * a set or clear replaces by it (rcache.c). */
#include <stdlib.h>
#include <string.h>
#include "watch.h"

#define NONE UINT32_MAX

static uint32_t slot(const wb_lru *l, uint64_t key) {
  return (uint32_t)(((key * 0x9e3779b97f4a7c15ull) >> 20) & l->hmask);
}

int wb_lru_init(wb_lru *l, uint64_t entries) {
  memset(l, 0, sizeof *l);
  l->head = l->tail = l->free_list = NONE;
  l->cap = (uint32_t)entries;
  if (!entries) return 0;
  uint64_t slots = entries + WB_LRU_SLACK, hs = 1;
  while (hs < 2 * slots) hs <<= 1;
  l->e = malloc(slots * sizeof *l->e);
  l->hash = malloc(hs * sizeof *l->hash);
  if (!l->e || !l->hash) return -1;
  l->hmask = hs - 1;
  memset(l->hash, 0xff, hs * sizeof *l->hash);
  return 0;
}

void wb_lru_fini(wb_lru *l) {
  free(l->e);
  free(l->hash);
  memset(l, 0, sizeof *l);
}

static void unlink_entry(wb_lru *l, uint32_t i) {
  wb_lru_entry *x = &l->e[i];
  if (x->prev != NONE) l->e[x->prev].next = x->next; else l->head = x->next;
  if (x->next != NONE) l->e[x->next].prev = x->prev; else l->tail = x->prev;
}

static void push_front(wb_lru *l, uint32_t i) {
  wb_lru_entry *x = &l->e[i];
  x->prev = NONE;
  x->next = l->head;
  if (l->head != NONE) l->e[l->head].prev = i; else l->tail = i;
  l->head = i;
}

static void hash_in(wb_lru *l, uint32_t i) {
  uint32_t h = slot(l, l->e[i].key);
  l->e[i].hnext = l->hash[h];
  l->hash[h] = i;
}

static void hash_out(wb_lru *l, uint32_t i) {
  uint32_t *p = &l->hash[slot(l, l->e[i].key)];
  while (*p != i) p = &l->e[*p].hnext;
  *p = l->e[i].hnext;
}

/* A slot off the free list, or one never used yet (slots [0, used) are then all taken). */
static uint32_t take_slot(wb_lru *l) {
  uint32_t i;
  if (l->free_list != NONE) { i = l->free_list; l->free_list = l->e[i].next; }
  else i = l->used;
  l->used++;
  return i;
}

static uint32_t find(const wb_lru *l, uint64_t key) {
  if (!l->cap) return NONE;
  for (uint32_t i = l->hash[slot(l, key)]; i != NONE; i = l->e[i].hnext)
    if (l->e[i].key == key) return i;
  return NONE;
}

/* Take entry i out (hash, LRU) and onto the free list. */
static void drop(wb_lru *l, uint32_t i) {
  hash_out(l, i);
  unlink_entry(l, i);
  l->e[i].next = l->free_list;
  l->free_list = i;
  l->used--;
}

int wb_lru_touch(wb_lru *l, uint64_t key) {
  if (l->head != NONE && l->e[l->head].key == key) {   /* already the most recent */
    l->e[l->head].stamp = ++l->clock;
    return 1;
  }
  uint32_t i = find(l, key);
  if (i == NONE) return 0;
  unlink_entry(l, i);
  push_front(l, i);
  l->e[i].stamp = ++l->clock;
  return 1;
}

int wb_lru_insert(wb_lru *l, uint64_t key) {
  int evicted = 0;
  if (l->used == l->cap) {   /* full: the least recently used goes */
    drop(l, l->tail);
    evicted = 1;
  }
  uint32_t i = take_slot(l);
  l->e[i].key = key;
  l->e[i].stamp = ++l->clock;
  hash_in(l, i);
  push_front(l, i);
  return evicted;
}

int wb_lru_remove(wb_lru *l, uint64_t key) {
  uint32_t i = find(l, key);
  if (i == NONE) return 0;
  drop(l, i);
  return 1;
}

uint32_t wb_lru_find(const wb_lru *l, uint64_t key) { return find(l, key); }

void wb_lru_unkey(wb_lru *l, uint32_t i) { hash_out(l, i); }

void wb_lru_rekey(wb_lru *l, uint32_t i, uint64_t key) {
  l->e[i].key = key;
  hash_in(l, i);
}

void wb_lru_discard(wb_lru *l, uint32_t i) {
  unlink_entry(l, i);
  l->e[i].next = l->free_list;
  l->free_list = i;
  l->used--;
}

uint32_t wb_lru_insert_after(wb_lru *l, uint32_t at, uint64_t key) {
  uint32_t i = take_slot(l);
  wb_lru_entry *x = &l->e[i], *a = &l->e[at];
  x->key = key;
  x->stamp = a->stamp;
  hash_in(l, i);
  x->prev = at;
  x->next = a->next;
  if (a->next != NONE) l->e[a->next].prev = i; else l->tail = i;
  a->next = i;
  return i;
}

unsigned wb_lru_trim(wb_lru *l) {
  unsigned n = 0;
  for (; l->used > l->cap; n++) drop(l, l->tail);
  return n;
}
