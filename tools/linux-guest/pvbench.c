// pvbench: the Linux guest's side of the PV device figures in `pnpm compare:qemu`, timed inside
// the guest by its own clock (the Xen pvclock), so the VMM under test cannot flatter itself.
//
//   pvbench hvc <bytes>       write <bytes> to /dev/hvc0 (raw, in 4 KiB writes) and wait until
//                             the backend took them all (tcdrain): the console's throughput
//   pvbench xs-read <n> <path> send <n> XS_READ requests of <path> through /dev/xen/xenbus, one
//                             at a time: each one's round trip (guest -> xenstore -> guest event)
//
// Each prints one line starting with TSVMM-BENCH on stdout (the serial console). Built static by
// tools/linux-guest (index.mjs), because the initramfs has no libraries.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

// xs_wire.h: struct xsd_sockmsg and the two message types used here.
struct xsd_sockmsg {
  uint32_t type, req_id, tx_id, len;
};
enum { XS_READ = 2, XS_ERROR = 16 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int fail(const char *what) {
  printf("TSVMM-BENCH error %s: %s\n", what, strerror(errno));
  return 1;
}

static int hvc(long bytes) {
  int fd = open("/dev/hvc0", O_WRONLY | O_NOCTTY);
  if (fd < 0) return fail("open /dev/hvc0");
  struct termios t;
  // Raw: no newline translation, so every byte written is a byte on the ring.
  if (tcgetattr(fd, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(fd, TCSANOW, &t);
  }
  static char block[4096];
  // Printable lines, so the VMM's log of hvc0 stays readable.
  for (size_t i = 0; i < sizeof block; i++) block[i] = (i % 64 == 63) ? '\n' : 'x';
  double start = now();
  for (long done = 0; done < bytes;) {
    long n = bytes - done < (long)sizeof block ? bytes - done : (long)sizeof block;
    ssize_t w = write(fd, block, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail("write /dev/hvc0");
    }
    done += w;
  }
  tcdrain(fd);
  double s = now() - start;
  printf("TSVMM-BENCH hvc0 %ld bytes %.6f s %.3f MB/s\n", bytes, s, bytes / s / 1e6);
  close(fd);
  return 0;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int xs_read(int n, const char *path) {
  int fd = open("/dev/xen/xenbus", O_RDWR);
  if (fd < 0) return fail("open /dev/xen/xenbus");
  size_t plen = strlen(path) + 1;
  if (plen > 1024) {
    errno = ENAMETOOLONG;
    return fail("path");
  }
  char req[sizeof(struct xsd_sockmsg) + 1024];
  char rsp[sizeof(struct xsd_sockmsg) + 4096];
  double *rt = calloc(n, sizeof *rt);
  if (!rt) return fail("calloc");
  for (int i = 0; i < n; i++) {
    struct xsd_sockmsg h = {XS_READ, (uint32_t)i, 0, (uint32_t)plen};
    memcpy(req, &h, sizeof h);
    memcpy(req + sizeof h, path, plen);
    double start = now();
    if (write(fd, req, sizeof h + plen) != (ssize_t)(sizeof h + plen)) return fail("write xenbus");
    ssize_t r = read(fd, rsp, sizeof rsp);
    rt[i] = now() - start;
    if (r < (ssize_t)sizeof h) return fail("read xenbus");
    memcpy(&h, rsp, sizeof h);
    if (h.type != XS_READ) {
      printf("TSVMM-BENCH error xs-read %s: reply type %u (%.*s)\n", path, h.type,
             (int)(r - sizeof h), rsp + sizeof h);
      return 1;
    }
  }
  qsort(rt, n, sizeof *rt, by_value);
  printf("TSVMM-BENCH xs-read %d reads median %.1f us p99 %.1f us max %.1f us\n", n,
         rt[n / 2] * 1e6, rt[(n * 99) / 100] * 1e6, rt[n - 1] * 1e6);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc == 3 && strcmp(argv[1], "hvc") == 0) return hvc(atol(argv[2]));
  if (argc == 4 && strcmp(argv[1], "xs-read") == 0) {
    int n = atoi(argv[2]);
    if (n < 1) n = 1;
    return xs_read(n, argv[3]);
  }
  fprintf(stderr, "usage: pvbench hvc <bytes> | pvbench xs-read <n> <path>\n");
  return 2;
}
