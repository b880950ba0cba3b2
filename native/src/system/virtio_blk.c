/* virtio_blk.c — the virtio-mmio slots at WB_VIRT_VIRTIO_BASE and the block device that can
 * sit in slot 0: a virtio-mmio (version 2, non-legacy) transport with one split virtqueue,
 * backed by a host file. Serving a request (moving the data between the file and guest RAM
 * with pread/pwrite) and completing it (the used ring entry, then the interrupt: the slot's
 * PLIC source 1 + slot stays high until the driver acknowledges) are two steps:
 *   - deterministic mode: both at the driver's notify store, so a boot repeats exactly;
 *   - host-clock mode (the board host has `post`): the notify only wakes the device's I/O
 *     thread, which serves what the driver made available and hands the completions to the
 *     hart's thread (host.post), where the used ring is written and the line raised. The
 *     interrupt thus lands whenever the host's I/O finishes, inside translated code.
 * The guest sees a request done only through the used ring, and that is only ever written on
 * the hart's thread after the code caches learnt which RAM the device wrote (ram_written):
 * no stale decoded code can run from a buffer the driver already got back.
 *
 * Facts: the Virtual I/O Device (VIRTIO) 1.1 specification — "Virtio Over MMIO" (the
 * register layout, version 2), "Device Status Field", "Feature Bits", "Split Virtqueues"
 * (descriptor table, available and used rings, their sizes and alignment), "Block Device"
 * (config layout, request header, status codes, feature bits) — and qemu's
 * hw/virtio/virtio-mmio.c for what a slot without a device shows (magic, version, vendor,
 * device id 0: Linux's virtio_mmio probe then gives up on the slot quietly).
 *
 * Guest data is hostile until checked: every ring and buffer address goes through
 * wb_board_ram (NULL unless the whole range is RAM), a descriptor chain is followed at most
 * QueueNum steps, every value read from guest memory is read once into a local before it is
 * checked and used (the guest may be changing it meanwhile). A malformed request ends in
 * VIRTIO_BLK_S_IOERR (or UNSUPP) when its status byte can be written; a broken ring (an
 * index out of range, the available index running too far ahead) sets DEVICE_NEEDS_RESET
 * and stops the device, as the spec asks, instead of guessing.
 *
 * Threads: v->mu guards the device's state; the hart's thread takes it for every register
 * access and completion, the I/O thread while it serves a batch (a register access then
 * waits for that batch: Linux does not touch the device while its requests are in flight).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "board.h"

/* ---- virtio-mmio registers ("MMIO Device Register Layout") ---- */
enum {
  REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008, REG_VENDOR_ID = 0x00c,
  REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
  REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
  REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038,
  REG_QUEUE_READY = 0x044, REG_QUEUE_NOTIFY = 0x050,
  REG_INTERRUPT_STATUS = 0x060, REG_INTERRUPT_ACK = 0x064, REG_STATUS = 0x070,
  REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DESC_HIGH = 0x084,
  REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DRIVER_HIGH = 0x094,
  REG_QUEUE_DEVICE_LOW = 0x0a0, REG_QUEUE_DEVICE_HIGH = 0x0a4,
  REG_SHM_SEL = 0x0ac, REG_SHM_LEN_LOW = 0x0b0, REG_SHM_LEN_HIGH = 0x0b4,
  REG_SHM_BASE_LOW = 0x0b8, REG_SHM_BASE_HIGH = 0x0bc,
  REG_CONFIG_GENERATION = 0x0fc, REG_CONFIG = 0x100,
};
#define MAGIC       0x74726976u   /* "virt" */
#define VENDOR      0x554d4551u   /* "QEMU", as qemu's transports say */
#define DEVICE_BLK  2u

enum { INT_VRING = 1, INT_CONFIG = 2 };
enum { ST_ACKNOWLEDGE = 1, ST_DRIVER = 2, ST_DRIVER_OK = 4, ST_FEATURES_OK = 8,
       ST_NEEDS_RESET = 0x40, ST_FAILED = 0x80 };

/* feature bits ("Feature Bits", "Block Device: Feature bits") */
#define F_SEG_MAX   (1ull << 2)
#define F_RO        (1ull << 5)
#define F_BLK_SIZE  (1ull << 6)
#define F_FLUSH     (1ull << 9)
#define F_VERSION_1 (1ull << 32)

/* split virtqueue ("Split Virtqueues") */
#define QUEUE_NUM_MAX 256u
enum { DESC_F_NEXT = 1, DESC_F_WRITE = 2, DESC_F_INDIRECT = 4 };
enum { AVAIL_F_NO_INTERRUPT = 1 };
#define DESC_SIZE 16u

/* block requests ("Device Operation") */
enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8 };
enum { S_OK = 0, S_IOERR = 1, S_UNSUPP = 2 };
#define SECTOR 512u
#define HEADER_SIZE 16u
#define ID_BYTES 20u
#define CONFIG_SIZE 64u   /* struct virtio_blk_config up to its later fields; the rest reads 0 */

struct wb_virtio_blk {
  wb_board *b;
  int fd, readonly;
  uint64_t sectors;
  /* transport */
  uint32_t device_features_sel, driver_features_sel, queue_sel, status, int_status;
  uint64_t driver_features;
  int irq;                               /* level last driven on the PLIC line */
  /* the one queue */
  uint32_t q_num, q_ready;
  uint64_t q_desc, q_driver, q_device;
  uint16_t last_avail, used_idx;
  uint8_t config[CONFIG_SIZE];
  /* served, not yet completed: used ring entries (head, len) and the RAM the data went to */
  pthread_mutex_t mu;
  uint32_t done[QUEUE_NUM_MAX][2];
  uint32_t ndone;
  struct { uint64_t pa, len; } *written;
  size_t nwritten, capwritten;
  int written_all;                       /* the list could not grow: report all of RAM */
  int needs_reset_pending;               /* the I/O thread found the ring broken */
  /* the I/O thread (host-clock mode), started at the first notify */
  pthread_cond_t cv;
  pthread_t io;
  int io_started, io_stop, kicked, completion_posted;
};

/* one descriptor of a request's chain, as read (and then checked) */
typedef struct { uint64_t addr; uint32_t len; int write; } seg;

static uint64_t device_features(const struct wb_virtio_blk *v) {
  return F_VERSION_1 | F_SEG_MAX | F_BLK_SIZE | F_FLUSH | (v->readonly ? F_RO : 0);
}

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_le(const uint8_t *p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static void update_irq(struct wb_virtio_blk *v) {
  int level = v->int_status != 0;
  if (level == v->irq) return;
  v->irq = level;
  wb_plic_set_irq(v->b->plic, WB_VIRT_VIRTIO_IRQ, level);
}

static void device_reset(struct wb_virtio_blk *v) {
  v->device_features_sel = v->driver_features_sel = v->queue_sel = 0;
  v->status = 0;
  v->driver_features = 0;
  v->q_num = v->q_ready = 0;
  v->q_desc = v->q_driver = v->q_device = 0;
  v->last_avail = v->used_idx = 0;
  v->ndone = 0;                  /* served requests of the old queue are never completed */
  v->needs_reset_pending = 0;
  v->int_status = 0;
  update_irq(v);
}

/* The driver broke the queue's rules: stop serving it until it resets the device, and tell
 * it through a configuration change interrupt ("Device Status Field": DEVICE_NEEDS_RESET). */
static void needs_reset(struct wb_virtio_blk *v) {
  v->status |= ST_NEEDS_RESET;
  if (v->io_started && pthread_equal(pthread_self(), v->io)) {   /* the interrupt: on the hart's thread */
    v->needs_reset_pending = 1;
    return;
  }
  if (v->status & ST_DRIVER_OK) {
    v->int_status |= INT_CONFIG;
    update_irq(v);
  }
}

/* ---- requests ---- */

/* The device wrote guest RAM [pa, pa + len): remembered until the completion tells the
 * machine (contiguous ranges merge; without host memory for the list, the completion reports
 * all of RAM: a wasted invalidation, never a missed one). */
static void note_written(struct wb_virtio_blk *v, uint64_t pa, uint64_t len) {
  if (v->written_all) return;
  if (v->nwritten && v->written[v->nwritten - 1].pa + v->written[v->nwritten - 1].len == pa) {
    v->written[v->nwritten - 1].len += len;
    return;
  }
  if (v->nwritten == v->capwritten) {
    size_t cap = v->capwritten ? 2 * v->capwritten : 64;
    void *nw = realloc(v->written, cap * sizeof *v->written);
    if (!nw) { v->written_all = 1; return; }
    v->written = nw;
    v->capwritten = cap;
  }
  v->written[v->nwritten].pa = pa;
  v->written[v->nwritten].len = len;
  v->nwritten++;
}

/* Walk `len` bytes from byte `pos` of the chain's segments of direction `write`, handing each
 * piece (its RAM, its offset among the len bytes, its size) to fn: 0, or -1 if a segment is
 * not RAM, the chain is too short or fn fails. */
typedef int (*piece_fn)(void *ctx, uint8_t *ram, uint64_t at, uint64_t k);

static int chain_walk(struct wb_virtio_blk *v, const seg *segs, int n, int write, uint64_t pos,
                      uint64_t len, piece_fn fn, void *ctx) {
  uint64_t at = 0;
  for (int i = 0; i < n && at < len; i++) {
    if (segs[i].write != write) continue;
    if (pos >= segs[i].len) { pos -= segs[i].len; continue; }
    uint64_t k = segs[i].len - pos < len - at ? segs[i].len - pos : len - at;
    uint8_t *p = wb_board_ram(v->b, segs[i].addr + pos, k);
    if (!p || fn(ctx, p, at, k) != 0) return -1;
    if (write) note_written(v, segs[i].addr + pos, k);
    at += k;
    pos = 0;
  }
  return at < len ? -1 : 0;
}

struct copy_ctx { uint8_t *buf; int to_guest; };
static int copy_piece(void *c, uint8_t *ram, uint64_t at, uint64_t k) {
  struct copy_ctx *x = c;
  if (x->to_guest) memcpy(ram, x->buf + at, k);
  else memcpy(x->buf + at, ram, k);
  return 0;
}

/* Copy `len` bytes at byte `pos` of the chain's segments of the given direction to or from
 * host buffer `buf`: 0, or -1 if a segment is not RAM or the chain is too short. */
static int chain_copy(struct wb_virtio_blk *v, const seg *segs, int n, int write, uint64_t pos,
                      uint8_t *buf, uint64_t len, int to_guest) {
  struct copy_ctx x = {buf, to_guest};
  return chain_walk(v, segs, n, write, pos, len, copy_piece, &x);
}

struct file_ctx { int fd, read; uint64_t off; };
static int file_piece(void *c, uint8_t *ram, uint64_t at, uint64_t k) {
  struct file_ctx *x = c;
  for (uint64_t done = 0; done < k;) {
    off_t o = (off_t)(x->off + at + done);
    ssize_t r = x->read ? pread(x->fd, ram + done, k - done, o) : pwrite(x->fd, ram + done, k - done, o);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;   /* an error, or the file shrank under us */
    done += (uint64_t)r;
  }
  return 0;
}

/* Move `len` bytes between the file at byte `off` and the chain's segments of direction
 * `write` from byte `pos` on: pread into device-writable buffers (a read request), pwrite
 * from device-readable ones (a write request). 0, or -1 (not RAM, short file, I/O error). */
static int chain_file(struct wb_virtio_blk *v, const seg *segs, int n, int write, uint64_t pos,
                      uint64_t off, uint64_t len) {
  struct file_ctx x = {v->fd, write, off};
  return chain_walk(v, segs, n, write, pos, len, file_piece, &x);
}

/* Read the chain that starts at descriptor `head` into segs (at most q_num of them): its
 * length, or -1 when it is malformed (an index out of the table, a loop or a chain longer
 * than the queue, an indirect table we did not offer, a readable buffer after a writable
 * one). *n is the number of segments read either way. */
static int read_chain(struct wb_virtio_blk *v, const uint8_t *desc, uint16_t head, seg *segs, int *n) {
  uint32_t i = head;
  int seen_write = 0;
  *n = 0;
  for (uint32_t steps = 0; steps < v->q_num; steps++) {
    uint8_t d[DESC_SIZE];
    memcpy(d, desc + (uint64_t)DESC_SIZE * i, DESC_SIZE);
    uint64_t addr = get_le(d, 8);
    uint32_t len = (uint32_t)get_le(d + 8, 4);
    uint16_t flags = (uint16_t)get_le(d + 12, 2), next = (uint16_t)get_le(d + 14, 2);
    if (flags & DESC_F_INDIRECT) return -1;
    int write = (flags & DESC_F_WRITE) != 0;
    if (!write && seen_write) return -1;
    seen_write |= write;
    segs[(*n)++] = (seg){addr, len, write};
    if (!(flags & DESC_F_NEXT)) return *n;
    if (next >= v->q_num) return -1;
    i = next;
  }
  return -1;   /* still going after q_num descriptors: a loop */
}

/* Serve one request; returns the number of bytes written into its device-writable buffers
 * (the used ring's len). */
static uint32_t serve(struct wb_virtio_blk *v, const uint8_t *desc, uint16_t head) {
  seg segs[QUEUE_NUM_MAX];
  int n;
  int ok = read_chain(v, desc, head, segs, &n) >= 0;

  /* the status byte: the last byte of the last device-writable buffer */
  int last_w = -1;
  for (int i = 0; i < n; i++)
    if (segs[i].write) last_w = i;
  uint8_t *status = NULL;
  if (last_w >= 0 && segs[last_w].len > 0)
    status = wb_board_ram(v->b, segs[last_w].addr + segs[last_w].len - 1, 1);
  if (!status) return 0;   /* nowhere to say anything: the driver gets the request back as is */
  segs[last_w].len--;      /* the data the driver offered stops before the status byte */

  uint64_t rd = 0, wr = 0;   /* bytes in the readable and (data) writable buffers */
  for (int i = 0; i < n; i++) {
    if (segs[i].write) wr += segs[i].len;
    else rd += segs[i].len;
  }
  uint8_t hdr[HEADER_SIZE];
  if (!ok || rd < HEADER_SIZE || chain_copy(v, segs, n, 0, 0, hdr, HEADER_SIZE, 0) != 0) {
    *status = S_IOERR;
    note_written(v, segs[last_w].addr + segs[last_w].len, 1);
    return 1;
  }
  uint32_t type = (uint32_t)get_le(hdr, 4);
  uint64_t sector = get_le(hdr + 8, 8);
  uint64_t data = 0;   /* bytes of data moved to the driver */
  uint8_t st = S_OK;

  switch (type) {
  case T_IN:
  case T_OUT: {
    uint64_t len = type == T_IN ? wr : rd - HEADER_SIZE;
    /* whole sectors, all inside the disk (no overflow: both sides compared in sectors) */
    if (len % SECTOR || sector > v->sectors || len / SECTOR > v->sectors - sector) { st = S_IOERR; break; }
    if (type == T_OUT && v->readonly) { st = S_IOERR; break; }
    if (type == T_IN) {
      if (chain_file(v, segs, n, 1, 0, sector * SECTOR, len) != 0) st = S_IOERR;
      else data = len;
    } else if (chain_file(v, segs, n, 0, HEADER_SIZE, sector * SECTOR, len) != 0) {
      st = S_IOERR;
    }
    break;
  }
  case T_FLUSH:
    if (!v->readonly && fdatasync(v->fd) != 0 && errno != EINVAL) st = S_IOERR;
    break;
  case T_GET_ID: {
    /* the serial number: up to 20 bytes, NUL-padded when shorter */
    uint8_t id[ID_BYTES] = "workbench";
    uint64_t k = wr < ID_BYTES ? wr : ID_BYTES;
    if (chain_copy(v, segs, n, 1, 0, id, k, 1) != 0) st = S_IOERR;
    else data = k;
    break;
  }
  default:
    st = S_UNSUPP;
    break;
  }
  *status = st;
  note_written(v, segs[last_w].addr + segs[last_w].len, 1);
  return (uint32_t)(data + 1);
}

/* Serve every request the driver made available since last time (into v->done): the data
 * moves, nothing is visible to the driver yet. */
static void serve_available(struct wb_virtio_blk *v) {
  if (!(v->status & ST_DRIVER_OK) || (v->status & ST_NEEDS_RESET) || !v->q_ready) return;
  uint32_t num = v->q_num;
  uint8_t *desc = wb_board_ram(v->b, v->q_desc, (uint64_t)DESC_SIZE * num);
  uint8_t *avail = wb_board_ram(v->b, v->q_driver, 6 + 2ull * num);
  if (!desc || !avail || !wb_board_ram(v->b, v->q_device, 6 + 8ull * num)) { needs_reset(v); return; }

  uint16_t avail_idx = (uint16_t)get_le(avail + 2, 2);
  __atomic_thread_fence(__ATOMIC_ACQUIRE);   /* the ring entries after the index */
  if ((uint16_t)(avail_idx - v->last_avail) > num) { needs_reset(v); return; }
  while (v->last_avail != avail_idx && v->ndone < num) {
    uint16_t head = (uint16_t)get_le(avail + 4 + 2ull * (v->last_avail % num), 2);
    if (head >= num) { needs_reset(v); break; }
    v->last_avail++;
    v->done[v->ndone][0] = head;
    v->done[v->ndone][1] = serve(v, desc, head);
    v->ndone++;
  }
}

/* Complete what was served (on the hart's thread): tell the machine which RAM the device
 * wrote, then the used ring entries, the used index and, unless the driver asked for none,
 * the interrupt. */
static void complete(struct wb_virtio_blk *v) {
  if (v->b->host.ram_written) {
    if (v->written_all) v->b->host.ram_written(v->b->host.ctx, v->b->ram_base, v->b->ram_size);
    else
      for (size_t i = 0; i < v->nwritten; i++)
        v->b->host.ram_written(v->b->host.ctx, v->written[i].pa, v->written[i].len);
  }
  v->nwritten = 0;
  v->written_all = 0;
  if (v->needs_reset_pending) {
    v->needs_reset_pending = 0;
    needs_reset(v);
  }
  if (!v->ndone) return;
  uint32_t num = v->q_num;
  uint8_t *avail = wb_board_ram(v->b, v->q_driver, 6 + 2ull * num);
  uint8_t *used = wb_board_ram(v->b, v->q_device, 6 + 8ull * num);
  if (!avail || !used) { v->ndone = 0; needs_reset(v); return; }
  for (uint32_t i = 0; i < v->ndone; i++) {
    uint8_t *elem = used + 4 + 8ull * (v->used_idx % num);
    put_le(elem, v->done[i][0], 4);
    put_le(elem + 4, v->done[i][1], 4);
    v->used_idx++;
  }
  v->ndone = 0;
  __atomic_thread_fence(__ATOMIC_RELEASE);   /* the entries before the index that shows them */
  put_le(used + 2, v->used_idx, 2);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);   /* the used index before the driver's flags */
  uint16_t flags = (uint16_t)get_le(avail, 2);
  if (!(flags & AVAIL_F_NO_INTERRUPT)) {   /* the driver asked not to be interrupted */
    v->int_status |= INT_VRING;
    update_irq(v);
  }
}

/* host.post's callback: the I/O thread's completions, on the hart's thread. */
static void complete_posted(void *arg) {
  struct wb_virtio_blk *v = arg;
  pthread_mutex_lock(&v->mu);
  v->completion_posted = 0;
  complete(v);
  pthread_mutex_unlock(&v->mu);
}

/* The I/O thread: serve whatever was made available each time the driver notifies, then
 * hand the completions to the hart's thread. */
static void *io_main(void *arg) {
  struct wb_virtio_blk *v = arg;
  pthread_mutex_lock(&v->mu);
  while (!v->io_stop) {
    if (!v->kicked) { pthread_cond_wait(&v->cv, &v->mu); continue; }
    v->kicked = 0;
    serve_available(v);
    int post = (v->ndone || v->nwritten || v->written_all || v->needs_reset_pending) && !v->completion_posted;
    if (post) v->completion_posted = 1;
    pthread_mutex_unlock(&v->mu);
    if (post) v->b->host.post(v->b->host.ctx, complete_posted, v);
    pthread_mutex_lock(&v->mu);
  }
  pthread_mutex_unlock(&v->mu);
  return NULL;
}

/* The driver notified the queue (v->mu held). */
static void notified(struct wb_virtio_blk *v) {
  if (!v->b->host.post) {        /* deterministic: now */
    serve_available(v);
    complete(v);
    return;
  }
  if (!v->io_started) {
    if (pthread_create(&v->io, NULL, io_main, v) != 0) {   /* no thread: serve it here */
      serve_available(v);
      complete(v);
      return;
    }
    v->io_started = 1;
  }
  v->kicked = 1;
  pthread_cond_signal(&v->cv);
}

void wb_virtio_blk_stop(struct wb_virtio_blk *v) {
  if (!v || !v->io_started) return;
  pthread_mutex_lock(&v->mu);
  v->io_stop = 1;
  pthread_cond_signal(&v->cv);
  pthread_mutex_unlock(&v->mu);
  pthread_join(v->io, NULL);
  v->io_started = 0;
}

/* ---- the transport ---- */

static uint64_t reg_read(struct wb_virtio_blk *v, uint64_t off, unsigned size) {
  if (off >= REG_CONFIG) {
    uint64_t k = off - REG_CONFIG;
    return k + size <= CONFIG_SIZE ? get_le(v->config + k, size) : 0;
  }
  if (size != 4) return 0;   /* the registers are 32-bit */
  switch (off) {
  case REG_MAGIC: return MAGIC;
  case REG_VERSION: return 2;
  case REG_DEVICE_ID: return DEVICE_BLK;
  case REG_VENDOR_ID: return VENDOR;
  case REG_DEVICE_FEATURES:
    return v->device_features_sel < 2 ? (uint32_t)(device_features(v) >> (32 * v->device_features_sel)) : 0;
  case REG_QUEUE_NUM_MAX: return v->queue_sel == 0 ? QUEUE_NUM_MAX : 0;
  case REG_QUEUE_READY: return v->queue_sel == 0 ? v->q_ready : 0;
  case REG_INTERRUPT_STATUS: return v->int_status;
  case REG_STATUS: return v->status;
  case REG_SHM_LEN_LOW: case REG_SHM_LEN_HIGH: case REG_SHM_BASE_LOW: case REG_SHM_BASE_HIGH:
    return 0xffffffffu;   /* no shared memory region: length and base read all ones */
  case REG_CONFIG_GENERATION: return 0;   /* the config never changes */
  default: return 0;
  }
}

static void set_low(uint64_t *r, uint32_t v) { *r = (*r & ~0xffffffffull) | v; }
static void set_high(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffffull) | (uint64_t)v << 32; }

static void write_status(struct wb_virtio_blk *v, uint32_t val) {
  if (val == 0) { device_reset(v); return; }
  val &= 0xff;
  /* FEATURES_OK holds only for a subset of what we offer that includes VERSION_1 (this is a
   * non-legacy device) */
  if ((val & ST_FEATURES_OK) && !(v->status & ST_FEATURES_OK)) {
    uint64_t f = v->driver_features;
    if ((f & ~device_features(v)) || !(f & F_VERSION_1)) val &= ~(uint32_t)ST_FEATURES_OK;
  }
  v->status = val | (v->status & ST_NEEDS_RESET);
}

static void reg_write(struct wb_virtio_blk *v, uint64_t off, uint64_t value, unsigned size) {
  if (size != 4 || off >= REG_CONFIG) return;   /* the config has no writable field we offer */
  uint32_t val = (uint32_t)value;
  int q0 = v->queue_sel == 0, setup = q0 && !v->q_ready;   /* queue fields only while not ready */
  switch (off) {
  case REG_DEVICE_FEATURES_SEL: v->device_features_sel = val; break;
  case REG_DRIVER_FEATURES_SEL: v->driver_features_sel = val; break;
  case REG_DRIVER_FEATURES:
    if (v->status & ST_FEATURES_OK) break;   /* negotiation is over */
    if (v->driver_features_sel == 0) set_low(&v->driver_features, val);
    else if (v->driver_features_sel == 1) set_high(&v->driver_features, val);
    break;
  case REG_QUEUE_SEL: v->queue_sel = val; break;
  case REG_QUEUE_NUM:
    /* a power of two no larger than QueueNumMax ("Split Virtqueues": queue size) */
    if (setup) v->q_num = (val && val <= QUEUE_NUM_MAX && !(val & (val - 1))) ? val : 0;
    break;
  case REG_QUEUE_READY:
    if (!q0) break;
    if (!(val & 1)) { v->q_ready = 0; break; }
    if (v->q_num) {   /* a queue without a valid size never becomes ready */
      v->q_ready = 1;
      v->last_avail = v->used_idx = 0;
    }
    break;
  case REG_QUEUE_DESC_LOW: if (setup) set_low(&v->q_desc, val); break;
  case REG_QUEUE_DESC_HIGH: if (setup) set_high(&v->q_desc, val); break;
  case REG_QUEUE_DRIVER_LOW: if (setup) set_low(&v->q_driver, val); break;
  case REG_QUEUE_DRIVER_HIGH: if (setup) set_high(&v->q_driver, val); break;
  case REG_QUEUE_DEVICE_LOW: if (setup) set_low(&v->q_device, val); break;
  case REG_QUEUE_DEVICE_HIGH: if (setup) set_high(&v->q_device, val); break;
  case REG_QUEUE_NOTIFY: if (val == 0) notified(v); break;
  case REG_INTERRUPT_ACK:
    v->int_status &= ~val;
    update_irq(v);
    break;
  case REG_STATUS: write_status(v, val); break;
  default: break;
  }
}

static uint64_t blk_read(void *state, uint64_t off, unsigned size) {
  struct wb_virtio_blk *v = state;
  pthread_mutex_lock(&v->mu);
  uint64_t r = reg_read(v, off, size);
  pthread_mutex_unlock(&v->mu);
  return r;
}

static void blk_write(void *state, uint64_t off, uint64_t value, unsigned size) {
  struct wb_virtio_blk *v = state;
  pthread_mutex_lock(&v->mu);
  reg_write(v, off, value, size);
  pthread_mutex_unlock(&v->mu);
}

static void blk_fini(void *state) {
  struct wb_virtio_blk *v = state;
  if (!v) return;
  wb_virtio_blk_stop(v);
  if (v->fd >= 0) close(v->fd);
  pthread_cond_destroy(&v->cv);
  pthread_mutex_destroy(&v->mu);
  free(v->written);
  free(v);
}

/* ---- the empty slots ---- */

static uint64_t empty_read(void *state, uint64_t off, unsigned size) {
  if (size != 4) return 0;
  switch (off % WB_VIRT_VIRTIO_SIZE) {
  case REG_MAGIC: return MAGIC;
  case REG_VERSION: return 2;
  case REG_VENDOR_ID: return VENDOR;
  default: return 0;   /* device id 0: no device */
  }
}

static void empty_write(void *state, uint64_t off, uint64_t value, unsigned size) {}

int wb_virtio_slots_init(wb_board *b) {
  /* slot 0 on its own (a disk may take its place), the others as one device */
  wb_device d0 = {.name = "virtio-empty", .base = WB_VIRT_VIRTIO_BASE, .size = WB_VIRT_VIRTIO_SIZE,
                  .read = empty_read, .write = empty_write};
  wb_device rest = {.name = "virtio-empty", .base = WB_VIRT_VIRTIO_BASE + WB_VIRT_VIRTIO_SIZE,
                    .size = WB_VIRT_VIRTIO_SIZE * (WB_VIRT_VIRTIO_COUNT - 1),
                    .read = empty_read, .write = empty_write};
  if (wb_board_add(b, &d0) != 0) return -1;
  return wb_board_add(b, &rest);
}

/* ---- creation ---- */

static void fill_config(struct wb_virtio_blk *v) {
  memset(v->config, 0, sizeof v->config);
  put_le(v->config + 0, v->sectors, 8);              /* capacity, in 512-byte sectors */
  put_le(v->config + 12, QUEUE_NUM_MAX - 2, 4);      /* seg_max: room for header and status */
  put_le(v->config + 20, SECTOR, 4);                 /* blk_size */
}

int wb_virtio_blk_init(wb_board *b, const char *path, int readonly, char *err, size_t errlen) {
  if (b->blk) { snprintf(err, errlen, "virtio-blk: the board already has a disk"); return -1; }
  if (!path || !*path) { snprintf(err, errlen, "virtio-blk: no disk image path"); return -1; }
  int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "virtio-blk: cannot open disk image %s %s: %s", path,
             readonly ? "for reading" : "for reading and writing", strerror(errno));
    return -1;
  }
  struct stat st;
  off_t size = -1;
  if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
    size = lseek(fd, 0, SEEK_END);   /* a block device's size too */
  if (size < 0) {
    snprintf(err, errlen, "virtio-blk: disk image %s is not a regular file or block device", path);
    close(fd);
    return -1;
  }
  struct wb_virtio_blk *v = calloc(1, sizeof *v);
  if (!v) { close(fd); snprintf(err, errlen, "virtio-blk: out of host memory"); return -1; }
  v->b = b;
  v->fd = fd;
  v->readonly = readonly != 0;
  v->sectors = (uint64_t)size / SECTOR;   /* a partial last sector is not part of the disk */
  pthread_mutex_init(&v->mu, NULL);
  pthread_cond_init(&v->cv, NULL);
  fill_config(v);
  wb_device d = {.name = "virtio-blk", .base = WB_VIRT_VIRTIO_BASE, .size = WB_VIRT_VIRTIO_SIZE,
                 .state = v, .read = blk_read, .write = blk_write, .fini = blk_fini};
  /* take the place of slot 0's empty transport (wb_virtio_slots_init), else a free one */
  for (int i = 0; i < b->ndevices; i++) {
    wb_device *e = &b->devices[i];
    if (e->base == WB_VIRT_VIRTIO_BASE && e->size == WB_VIRT_VIRTIO_SIZE && e->read == empty_read) {
      *e = d;
      b->blk = v;
      return 0;
    }
  }
  if (wb_board_add(b, &d) != 0) {
    blk_fini(v);
    snprintf(err, errlen, "virtio-blk: virtio-mmio slot 0 is taken");
    return -1;
  }
  b->blk = v;
  return 0;
}
