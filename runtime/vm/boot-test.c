/* ward-vm-boot-test: boots a guest kernel (+ initramfs) in the ward VMM,
 * echoes the serial and hvc0 output, and reports the time from VM creation
 * to a marker string and to the guest's reset.  Exit status 0 when the
 * marker was seen and the guest reset or shut down by itself.
 *
 * usage: ward-vm-boot-test --kernel VMLINUX [--initrd CPIO] [--mem MIB]
 *        [--cpus N] [--cmdline ARGS] [--marker STR] [--timeout SEC]
 *        [--console] [--quiet] [--vsock PATH] [--rng] [--console-input LINE]
 *
 * --vsock PATH adds a vsock device (hybrid unix socket at PATH) and checks
 * both directions against test-init's wardvsock=1 mode: the guest's hello
 * on host port 5000 (PATH_5000) and an echo through "CONNECT 1234".
 *
 * --fs DIR exports DIR as virtio-fs tag "rootfs" after putting test files
 * in it (hello.txt, sub/, a 10 MiB big.bin, escape -> /etc) and checks
 * test-init's wardfs=1 run: its WARD_VM_FS_DONE, the checksum of big.bin
 * and the file the guest wrote (from-guest.txt).
 *
 * --net adds virtio-net on a TAP "wardtap0" (10.0.2.2/24) with a UDP echo
 * server on port 7777 and checks test-init's wardnet=1 run. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "runtime/vm/vm.h"

#define SEEN_MAX (1 << 20)

struct reader
{
  int fd;
  bool echo;
  pthread_t thread;
  /* each output in its own buffer: the UART's byte-sized chunks and
   * hvc0's lines interleaved in one buffer split the markers */
  char *buf;
  size_t len;
};

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char *seen;     /* the serial output (printf in test-init) */
static char *hvc_seen; /* hvc0's */
static const char *marker = "WARD_VM_BOOT_MARKER";
static double t_marker = -1, t0, t_run;

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void *
reader_thread (void *arg)
{
  struct reader *r = arg;
  char buf[4096];
  ssize_t n;
  while ((n = read (r->fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    {
      if (n < 0)
        continue;
      if (r->echo)
        fwrite (buf, 1, (size_t) n, stderr);
      pthread_mutex_lock (&seen_lock);
      if (r->len + (size_t) n < SEEN_MAX)
        {
          memcpy (r->buf + r->len, buf, (size_t) n);
          r->len += (size_t) n;
          r->buf[r->len] = '\0';
          if (t_marker < 0 && strstr (r->buf, marker))
            t_marker = now () - t0;
        }
      pthread_mutex_unlock (&seen_lock);
    }
  return NULL;
}

static char vsock_hello[64];
static double t_vsock_echo = -1;
static volatile bool vm_ended; /* ends the client's retry loop */

/* PATH_5000: what the guest's connect to host port 5000 reaches */
static void *
vsock_hello_thread (void *arg)
{
  int l = *(int *) arg;
  int c = accept (l, NULL, NULL);
  if (c >= 0)
    {
      ssize_t n = read (c, vsock_hello, sizeof vsock_hello - 1);
      if (n > 0)
        vsock_hello[n] = '\0';
      close (c);
    }
  return NULL;
}

static ssize_t
read_line (int fd, char *buf, size_t size)
{
  size_t n = 0;
  while (n + 1 < size)
    {
      ssize_t r = read (fd, buf + n, 1);
      if (r <= 0)
        return -1;
      if (buf[n++] == '\n')
        break;
    }
  buf[n] = '\0';
  return (ssize_t) n;
}

/* host -> guest: retry CONNECT 1234 until the guest listens, then echo */
static void *
vsock_client_thread (void *arg)
{
  const char *path = arg;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
  for (int tries = 0; tries < 600 && !vm_ended; tries++)
    {
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      char line[64];
      if (fd >= 0 && connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0
          && write (fd, "CONNECT 1234\n", 13) == 13 && read_line (fd, line, sizeof line) > 0
          && strncmp (line, "OK ", 3) == 0)
        {
          if (write (fd, "ping\n", 5) == 5 && read_line (fd, line, sizeof line) > 0
              && strcmp (line, "ping\n") == 0)
            t_vsock_echo = now () - t0;
          close (fd);
          return NULL;
        }
      if (fd >= 0)
        close (fd);
      usleep (100000);
    }
  return NULL;
}

/* types the line once the guest has opened hvc0 (its marker is out) */
static void *
console_typist (void *arg)
{
  void **a = arg;
  int fd = *(int *) a[0];
  const char *line = a[1];
  for (int i = 0; i < 600; i++)
    {
      pthread_mutex_lock (&seen_lock);
      bool ready = strstr (hvc_seen, "WARD_VM_HVC_MARKER") != NULL;
      pthread_mutex_unlock (&seen_lock);
      if (ready)
        {
          if (write (fd, line, strlen (line)) < 0 || write (fd, "\n", 1) != 1)
            perror ("console input");
          return NULL;
        }
      usleep (50000);
    }
  return NULL;
}

static unsigned fs_sum;

/* the files test-init's fs_test expects; returns the export's fd */
static int
prepare_fs (const char *dir)
{
  mkdir (dir, 0755);
  int d = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0)
    return -1;
  int fd = openat (d, "hello.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, "hello from the host\n", 20) != 20)
    return -1;
  close (fd);
  mkdirat (d, "sub", 0755);
  unlinkat (d, "escape", 0);
  unlinkat (d, "from-guest.txt", 0);
  if (symlinkat ("/etc", d, "escape") < 0)
    return -1;
  /* a static busybox, when the host has one, to run from the export */
  int src = open ("/bin/busybox", O_RDONLY | O_CLOEXEC);
  unlinkat (d, "bb.out", 0);
  if (src >= 0)
    {
      int dst = openat (d, "busybox", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
      char b[65536];
      ssize_t k;
      while (dst >= 0 && (k = read (src, b, sizeof b)) > 0)
        if (write (dst, b, (size_t) k) != k)
          break;
      if (dst >= 0)
        close (dst);
      close (src);
    }
  static unsigned char buf[1 << 20];
  fd = openat (d, "big.bin", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  unsigned x = 12345;
  for (int m = 0; m < 10; m++)
    {
      for (size_t i = 0; i < sizeof buf; i++)
        {
          x = x * 1103515245 + 12345;
          buf[i] = (unsigned char) (x >> 16);
        }
      /* the guest samples every 512th byte the same way */
      for (size_t i = 0; i < sizeof buf; i += 512)
        fs_sum = fs_sum * 31 + buf[i];
      if (write (fd, buf, sizeof buf) != (ssize_t) sizeof buf)
        return -1;
    }
  close (fd);
  return d;
}

static bool
check_fs (int d)
{
  char buf[64] = "";
  bool ok = true;
  int fd = openat (d, "from-guest.txt", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close (fd);
  buf[n > 0 ? n : 0] = '\0';
  if (strcmp (buf, "written by the guest\n") != 0)
    {
      printf ("virtio-fs: the host does not see the guest's file: '%s'\n", buf);
      ok = false;
    }
  char xv[8] = "";
  char tv[8];
  fd = openat (d, "from-guest.txt", O_RDONLY | O_CLOEXEC);
  bool user_xattrs = fd >= 0 && (fsetxattr (fd, "user.probe", "1", 1, 0) == 0 || errno != EOPNOTSUPP);
  if (fd < 0 || (user_xattrs && (fgetxattr (fd, "user.ward", xv, sizeof xv) != 2 || memcmp (xv, "42", 2)))
      || fgetxattr (fd, "trusted.overlay.opaque", tv, sizeof tv) >= 0)
    {
      printf ("virtio-fs: the guest's user.ward xattr is not on the host file, or trusted.* is\n");
      ok = false;
    }
  if (fd >= 0)
    close (fd);
  if (faccessat (d, "busybox", X_OK, 0) == 0)
    {
      fd = openat (d, "bb.out", O_RDONLY | O_CLOEXEC);
      char out[128] = "";
      n = fd >= 0 ? read (fd, out, sizeof out - 1) : -1;
      if (fd >= 0)
        close (fd);
      out[n > 0 ? n : 0] = '\0';
      if (strstr (out, "ran from virtio-fs") == NULL)
        {
          printf ("virtio-fs: busybox run from the export did not write bb.out: '%s'\n", out);
          ok = false;
        }
    }
  pthread_mutex_lock (&seen_lock);
  const char *m2 = strstr (seen, "WARD_VM_FS_EXEC ");
  if (m2)
    printf ("virtio-fs: %.*s\n", (int) strcspn (m2, "\r\n"), m2);
  const char *r = strstr (seen, "WARD_VM_FS_READ ");
  unsigned long long bytes = 0;
  unsigned sum = 0;
  double ms = -1;
  if (r == NULL || sscanf (r, "WARD_VM_FS_READ bytes=%llu sum=%u ms=%lf", &bytes, &sum, &ms) != 3
      || bytes != 10u << 20 || sum != fs_sum)
    {
      printf ("virtio-fs: big.bin read wrong (%llu bytes, sum %u, want %u)\n", bytes, sum, fs_sum);
      ok = false;
    }
  else
    printf ("virtio-fs: 10 MiB read in %.1f ms (%.1f MiB/s)\n", ms, 10e3 / ms);
  const char *m = strstr (seen, "WARD_VM_FS_MOUNT ms=");
  if (m)
    printf ("virtio-fs: mount took %.1f ms\n", atof (m + 20));
  m = strstr (seen, "WARD_VM_FS_REREAD ms=");
  if (m)
    printf ("virtio-fs: 10 MiB re-read (guest page cache) in %.1f ms\n", atof (m + 21));
  double c100, u100;
  m = strstr (seen, "WARD_VM_FS_META ");
  if (m && sscanf (m, "WARD_VM_FS_META create100_ms=%lf unlink100_ms=%lf", &c100, &u100) == 2)
    printf ("virtio-fs: create+close %.2f ms, unlink %.2f ms per file\n", c100 / 100, u100 / 100);
  if (strstr (seen, "WARD_VM_FS_DONE") == NULL)
    {
      printf ("virtio-fs: the guest's checks failed\n");
      ok = false;
    }
  pthread_mutex_unlock (&seen_lock);
  return ok;
}

static int echo_count;

/* TAP wardtap0 = 10.0.2.2/24, up; returns its fd */
static int
make_tap (void)
{
  int fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
  snprintf (ifr.ifr_name, sizeof ifr.ifr_name, "wardtap0");
  if (fd < 0 || ioctl (fd, TUNSETIFF, &ifr) < 0)
    return -1;
  int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq r = { 0 };
  snprintf (r.ifr_name, sizeof r.ifr_name, "wardtap0");
  struct sockaddr_in *sin = (struct sockaddr_in *) &r.ifr_addr;
  sin->sin_family = AF_INET;
  inet_pton (AF_INET, "10.0.2.2", &sin->sin_addr);
  bool ok = ioctl (s, SIOCSIFADDR, &r) == 0;
  inet_pton (AF_INET, "255.255.255.0", &sin->sin_addr);
  ok = ok && ioctl (s, SIOCSIFNETMASK, &r) == 0 && ioctl (s, SIOCGIFFLAGS, &r) == 0;
  r.ifr_flags |= IFF_UP;
  ok = ok && ioctl (s, SIOCSIFFLAGS, &r) == 0;
  close (s);
  if (!ok)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static void *
udp_echo_thread (void *arg)
{
  int s = *(int *) arg;
  char buf[2048];
  struct sockaddr_in from;
  /* shutdown() does not wake a UDP recvfrom: poll with a timeout */
  struct timeval tv = { .tv_usec = 200000 };
  setsockopt (s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (!vm_ended)
    {
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom (s, buf, sizeof buf, 0, (struct sockaddr *) &from, &fl);
      if (n < 0)
        continue;
      if (sendto (s, buf, (size_t) n, 0, (struct sockaddr *) &from, fl) == n)
        echo_count++;
    }
  return NULL;
}

static void *
watchdog (void *arg)
{
  ward_vm_t *vm = ((void **) arg)[0];
  unsigned secs = *(unsigned *) ((void **) arg)[1];
  sleep (secs);
  ward_vm_stop (vm);
  return NULL;
}

int
main (int argc, char **argv)
{
  struct ward_vm_config cfg = { .serial_fd = -1, .console_in_fd = -1, .console_out_fd = -1 };
  unsigned timeout = 60;
  bool console = false, quiet = false, net = false;
  const char *console_input = NULL, *fs_dir = NULL;
  static const struct option opts[] = {
    { "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },
    { "mem", required_argument, NULL, 'm' },    { "cpus", required_argument, NULL, 'c' },
    { "cmdline", required_argument, NULL, 'a' }, { "marker", required_argument, NULL, 'M' },
    { "timeout", required_argument, NULL, 't' }, { "console", no_argument, NULL, 'C' },
    { "quiet", no_argument, NULL, 'q' },        { "debug", no_argument, NULL, 'd' },
    { "vsock", required_argument, NULL, 'v' },  { "rng", no_argument, NULL, 'r' },
    { "console-input", required_argument, NULL, 'I' },
    { "fs", required_argument, NULL, 'F' },
    { "net", no_argument, NULL, 'N' },
    { NULL, 0, NULL, 0 },
  };
  int o;
  ward_log_init (-1, false, WARD_LOG_WARNING);
  while ((o = getopt_long (argc, argv, "", opts, NULL)) != -1)
    switch (o)
      {
      case 'k': cfg.kernel_path = optarg; break;
      case 'i': cfg.initrd_path = optarg; break;
      case 'm': cfg.mem_bytes = strtoull (optarg, NULL, 10) << 20; break;
      case 'c': cfg.vcpus = (unsigned) strtoul (optarg, NULL, 10); break;
      case 'a': cfg.cmdline = optarg; break;
      case 'M': marker = optarg; break;
      case 't': timeout = (unsigned) strtoul (optarg, NULL, 10); break;
      case 'C': console = true; break;
      case 'q': quiet = true; break;
      case 'd': ward_log_init (-1, false, WARD_LOG_DEBUG); break;
      case 'v': cfg.vsock_path = optarg; break;
      case 'r': cfg.rng = true; break;
      case 'I': console_input = optarg; console = true; break;
      case 'F': fs_dir = optarg; break;
      case 'N': net = true; break;
      default:
        fprintf (stderr, "usage: %s --kernel VMLINUX [--initrd CPIO] [--mem MIB] [--cpus N] "
                         "[--cmdline ARGS] [--marker STR] [--timeout SEC] [--console] [--quiet]\n",
                 argv[0]);
        return 2;
      }
  if (cfg.kernel_path == NULL)
    {
      fprintf (stderr, "ward-vm-boot-test: --kernel is required\n");
      return 2;
    }
  seen = calloc (1, SEEN_MAX + 1);
  hvc_seen = calloc (1, SEEN_MAX + 1);
  if (seen == NULL || hvc_seen == NULL)
    return 1;

  int serial[2], cons[2] = { -1, -1 };
  if (pipe2 (serial, O_CLOEXEC) < 0 || (console && pipe2 (cons, O_CLOEXEC) < 0))
    {
      perror ("pipe");
      return 1;
    }
  cfg.serial_fd = serial[1];
  cfg.console_out_fd = cons[1];
  int in[2] = { -1, -1 };
  if (console_input)
    {
      if (pipe2 (in, O_CLOEXEC) < 0)
        {
          perror ("console input");
          return 1;
        }
      cfg.console_in_fd = in[0];
    }
  struct reader rs = { .fd = serial[0], .echo = !quiet, .buf = seen },
                rc = { .fd = cons[0], .echo = !quiet, .buf = hvc_seen };
  pthread_create (&rs.thread, NULL, reader_thread, &rs);
  if (console)
    pthread_create (&rc.thread, NULL, reader_thread, &rc);

  int hello_fd = -1;
  pthread_t hello_th, client_th;
  if (cfg.vsock_path)
    {
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      snprintf (sa.sun_path, sizeof sa.sun_path, "%s_5000", cfg.vsock_path);
      unlink (sa.sun_path);
      unlink (cfg.vsock_path);
      hello_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (hello_fd < 0 || bind (hello_fd, (struct sockaddr *) &sa, sizeof sa) < 0
          || listen (hello_fd, 1) < 0)
        {
          perror ("vsock hello socket");
          return 1;
        }
      pthread_create (&hello_th, NULL, vsock_hello_thread, &hello_fd);
    }

  int fs_fd = -1;
  if (fs_dir)
    {
      fs_fd = prepare_fs (fs_dir);
      if (fs_fd < 0)
        {
          perror ("prepare the virtio-fs directory");
          return 1;
        }
      cfg.fs_root_fd = fs_fd;
      cfg.fs_tag = "rootfs";
    }

  int tap_fd = -1, echo_fd = -1;
  pthread_t echo_th;
  if (net)
    {
      tap_fd = make_tap ();
      echo_fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (7777) };
      inet_pton (AF_INET, "10.0.2.2", &a.sin_addr);
      if (tap_fd < 0 || echo_fd < 0 || bind (echo_fd, (struct sockaddr *) &a, sizeof a) < 0)
        {
          perror ("TAP wardtap0 / UDP echo socket");
          return 1;
        }
      pthread_create (&echo_th, NULL, udp_echo_thread, &echo_fd);
      cfg.net_tap_fd = tap_fd;
    }

  ward_error_t *err = NULL;
  ward_vm_t *vm = NULL;
  t0 = now ();
  if (ward_vm_create (&cfg, &vm, &err) < 0)
    {
      fprintf (stderr, "ward-vm-boot-test: %s\n", err->msg);
      ward_error_free (&err);
      return 1;
    }
  double t_created = now () - t0;
  t_run = t_created;
  fprintf (stderr, "ward-vm-boot-test: cmdline: %s\n", ward_vm_cmdline (vm));
  if (cfg.vsock_path)
    pthread_create (&client_th, NULL, vsock_client_thread, (void *) cfg.vsock_path);
  void *typist_arg[2] = { &in[1], (void *) console_input };
  if (console_input)
    {
      pthread_t typist;
      pthread_create (&typist, NULL, console_typist, typist_arg);
      pthread_detach (typist);
    }
  pthread_t wd;
  void *wd_arg[2] = { vm, &timeout };
  pthread_create (&wd, NULL, watchdog, wd_arg);
  pthread_detach (wd);

  enum ward_vm_exit_reason reason = WARD_VM_EXIT_ERROR;
  int r = ward_vm_run (vm, &reason, &err);
  double t_exit = now () - t0;
  vm_ended = true;
  ward_vm_destroy (&vm);
  /* after destroy: the echo may still sit in the client's socket, and the
   * VMM's end is closed now, so the client cannot block */
  if (cfg.vsock_path)
    {
      pthread_join (client_th, NULL);
      /* wakes accept() if the guest never connected */
      shutdown (hello_fd, SHUT_RDWR);
      pthread_join (hello_th, NULL);
      close (hello_fd);
    }
  close (serial[1]);
  if (console)
    close (cons[1]);
  if (in[0] >= 0)
    {
      close (in[0]);
      close (in[1]);
    }
  pthread_join (rs.thread, NULL);
  if (console)
    pthread_join (rc.thread, NULL);

  if (r < 0)
    {
      fprintf (stderr, "ward-vm-boot-test: run: %s\n", err->msg);
      ward_error_free (&err);
    }
  printf ("vm created in %.1f ms\n", t_created * 1e3);
  if (t_marker >= 0)
    printf ("marker '%s' after %.1f ms (%.1f ms after the vCPUs started)\n", marker,
            t_marker * 1e3, (t_marker - t_run) * 1e3);
  else
    printf ("marker '%s' NOT seen\n", marker);
  printf ("guest exit: %s after %.1f ms\n", ward_vm_exit_reason_str (reason), t_exit * 1e3);
  bool vsock_ok = true;
  if (cfg.vsock_path)
    {
      printf ("vsock guest->host: %s", vsock_hello[0] ? vsock_hello : "(nothing)\n");
      if (t_vsock_echo >= 0)
        printf ("vsock host->guest echo after %.1f ms\n", t_vsock_echo * 1e3);
      else
        printf ("vsock host->guest echo FAILED\n");
      vsock_ok = t_vsock_echo >= 0 && strcmp (vsock_hello, "hello from the guest\n") == 0;
    }
  bool net_ok = true;
  if (net)
    {
      pthread_join (echo_th, NULL);
      close (echo_fd);
      close (tap_fd);
      pthread_mutex_lock (&seen_lock);
      const char *m = strstr (seen, "WARD_VM_NET_OK");
      net_ok = m != NULL && echo_count > 0;
      pthread_mutex_unlock (&seen_lock);
      printf ("virtio-net: %d UDP datagrams echoed, guest %s\n", echo_count,
              net_ok ? "got the echo" : "FAILED");
    }
  bool fs_ok = true;
  if (fs_fd >= 0)
    {
      fs_ok = check_fs (fs_fd);
      close (fs_fd);
    }
  free (seen);
  free (hvc_seen);
  bool ok = r == 0 && t_marker >= 0 && vsock_ok && fs_ok && net_ok
            && (reason == WARD_VM_EXIT_RESET || reason == WARD_VM_EXIT_SHUTDOWN);
  return ok ? 0 : 1;
}
