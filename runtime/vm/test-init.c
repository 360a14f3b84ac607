/* /init of the boot-test initramfs (static): prints the marker on the
 * console (ttyS0) and on hvc0 when present, then resets the VM. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* wardvsock=1 on the kernel command line (it reaches init's environment):
 * say hello to host port 5000, then echo one message on port 1234 */
static void
vsock_test (void)
{
  struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = 1234 };
  int l = socket (AF_VSOCK, SOCK_STREAM, 0);
  if (l < 0 || bind (l, (struct sockaddr *) &a, sizeof a) < 0 || listen (l, 1) < 0)
    {
      printf ("WARD_VM_VSOCK_FAIL listen\n");
      return;
    }
  int s = socket (AF_VSOCK, SOCK_STREAM, 0);
  struct sockaddr_vm h = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = 5000 };
  if (s >= 0 && connect (s, (struct sockaddr *) &h, sizeof h) == 0)
    {
      if (write (s, "hello from the guest\n", 21) != 21)
        printf ("WARD_VM_VSOCK_FAIL write\n");
    }
  else
    printf ("WARD_VM_VSOCK_FAIL connect to the host\n");
  if (s >= 0)
    close (s);
  int c = accept (l, NULL, NULL);
  char buf[256];
  ssize_t n = c >= 0 ? read (c, buf, sizeof buf) : -1;
  if (n > 0 && write (c, buf, (size_t) n) == n)
    {
      /* vsock sends from a worker: wait for the host to close after it
       * got the echo, or reboot() can beat the packet out of the guest */
      while (read (c, buf, sizeof buf) > 0)
        ;
      printf ("WARD_VM_VSOCK_DONE echoed %zd bytes\n", n);
    }
  else
    printf ("WARD_VM_VSOCK_FAIL echo\n");
  fflush (stdout);
  if (c >= 0)
    close (c);
  close (l);
}

static double
ms_since (const struct timespec *a)
{
  struct timespec b;
  clock_gettime (CLOCK_MONOTONIC, &b);
  return (double) (b.tv_sec - a->tv_sec) * 1e3 + (double) (b.tv_nsec - a->tv_nsec) / 1e6;
}

/* wardfs=1: the host exports a prepared directory as virtio-fs tag
 * "rootfs" (boot-test --fs): mount it, read, list, write, and check that
 * ".." at the mount root and a symlink to /etc stay in the guest */
static void
fs_test (void)
{
  struct timespec t;
  char buf[256];
  int ok = 1;
  mkdir ("/mnt", 0755);
  clock_gettime (CLOCK_MONOTONIC, &t);
  if (mount ("rootfs", "/mnt", "virtiofs", 0, NULL) < 0)
    {
      printf ("WARD_VM_FS_FAIL mount: %s\n", strerror (errno));
      return;
    }
  printf ("WARD_VM_FS_MOUNT ms=%.1f\n", ms_since (&t));
  int fd = open ("/mnt/hello.txt", O_RDONLY);
  ssize_t n = fd >= 0 ? read (fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0)
    close (fd);
  buf[n > 0 ? n : 0] = '\0';
  if (strcmp (buf, "hello from the host\n") != 0)
    {
      printf ("WARD_VM_FS_FAIL read hello.txt: '%s'\n", buf);
      ok = 0;
    }
  DIR *d = opendir ("/mnt");
  int entries = 0, seen = 0;
  struct dirent *de;
  while (d && (de = readdir (d)))
    {
      entries++;
      if (!strcmp (de->d_name, "hello.txt") || !strcmp (de->d_name, "sub"))
        seen++;
    }
  if (d)
    closedir (d);
  if (seen != 2)
    {
      printf ("WARD_VM_FS_FAIL readdir: %d entries, %d known\n", entries, seen);
      ok = 0;
    }
  fd = open ("/mnt/from-guest.txt", O_WRONLY | O_CREAT | O_TRUNC, 0640);
  if (fd < 0 || write (fd, "written by the guest\n", 21) != 21 || fsync (fd) < 0)
    {
      printf ("WARD_VM_FS_FAIL write: %s\n", strerror (errno));
      ok = 0;
    }
  if (fd >= 0)
    close (fd);
  /* xattrs: user.* passes through, trusted.* never reaches the host */
  char xv[16] = "";
  if (setxattr ("/mnt/from-guest.txt", "user.ward", "42", 2, 0) < 0)
    {
      /* the export's own file system may lack them (tmpfs before 6.6) */
      if (errno != EOPNOTSUPP)
        {
          printf ("WARD_VM_FS_FAIL setxattr user.ward: %s\n", strerror (errno));
          ok = 0;
        }
      else
        printf ("WARD_VM_FS_NOTE the export has no user xattrs\n");
    }
  else if (getxattr ("/mnt/from-guest.txt", "user.ward", xv, sizeof xv) != 2 || memcmp (xv, "42", 2))
    {
      printf ("WARD_VM_FS_FAIL getxattr user.ward: %s\n", strerror (errno));
      ok = 0;
    }
  if (setxattr ("/mnt/from-guest.txt", "trusted.overlay.opaque", "y", 1, 0) == 0 || errno != EPERM)
    {
      printf ("WARD_VM_FS_FAIL setxattr trusted.overlay.opaque: %s\n", strerror (errno));
      ok = 0;
    }
  /* ".." of the mount root is the guest's own "/" */
  struct stat a, b;
  if (stat ("/mnt/..", &a) < 0 || stat ("/", &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
    {
      printf ("WARD_VM_FS_FAIL '..' at the mount root is not the guest's /\n");
      ok = 0;
    }
  if (stat ("/mnt/sub/../../init", &a) < 0)
    {
      printf ("WARD_VM_FS_FAIL /mnt/sub/../../init: %s\n", strerror (errno));
      ok = 0;
    }
  /* escape -> /etc on the host: resolved by the guest, in the guest */
  if (open ("/mnt/escape/hostname", O_RDONLY) >= 0 || errno != ENOENT)
    {
      printf ("WARD_VM_FS_FAIL the /etc symlink reached something: %s\n", strerror (errno));
      ok = 0;
    }
  if (mkdir ("/mnt/sub/gdir", 0755) < 0 || rename ("/mnt/sub/gdir", "/mnt/gdir") < 0
      || rmdir ("/mnt/gdir") < 0)
    {
      printf ("WARD_VM_FS_FAIL mkdir/rename/rmdir: %s\n", strerror (errno));
      ok = 0;
    }
  /* a program run from the export (mmap'ed pages, exec's xattr lookup):
   * what a container's processes do when its rootfs is virtio-fs */
  if (access ("/mnt/busybox", X_OK) == 0)
    {
      clock_gettime (CLOCK_MONOTONIC, &t);
      pid_t pid = fork ();
      if (pid == 0)
        {
          execl ("/mnt/busybox", "sh", "-c", "/mnt/busybox ls /mnt/sub > /mnt/bb.out && "
                 "/mnt/busybox echo ran from virtio-fs >> /mnt/bb.out", (char *) NULL);
          _exit (127);
        }
      int st = -1;
      waitpid (pid, &st, 0);
      printf ("WARD_VM_FS_EXEC status=%d ms=%.1f\n", st, ms_since (&t));
      if (st != 0)
        ok = 0;
    }
  /* throughput: the 10 MiB file, summed so the host can check it */
  static char big[1 << 20];
  clock_gettime (CLOCK_MONOTONIC, &t);
  fd = open ("/mnt/big.bin", O_RDONLY);
  unsigned long long total = 0;
  unsigned sum = 0;
  while (fd >= 0 && (n = read (fd, big, sizeof big)) > 0)
    {
      /* every 512th byte: enough to catch misplaced data, cheap under TCG */
      for (ssize_t i = (ssize_t) ((512 - total % 512) % 512); i < n; i += 512)
        sum = sum * 31 + (unsigned char) big[i];
      total += (unsigned long long) n;
    }
  if (fd >= 0)
    close (fd);
  printf ("WARD_VM_FS_READ bytes=%llu sum=%u ms=%.1f\n", total, sum, ms_since (&t));
  /* again: served from the guest's page cache (FOPEN_KEEP_CACHE) */
  clock_gettime (CLOCK_MONOTONIC, &t);
  fd = open ("/mnt/big.bin", O_RDONLY);
  while (fd >= 0 && read (fd, big, sizeof big) > 0)
    ;
  if (fd >= 0)
    close (fd);
  printf ("WARD_VM_FS_REREAD ms=%.1f\n", ms_since (&t));
  /* metadata round trips: 100 x (CREATE, FLUSH, RELEASE) then 100 UNLINK */
  clock_gettime (CLOCK_MONOTONIC, &t);
  for (int i = 0; i < 100; i++)
    {
      char p[64];
      snprintf (p, sizeof p, "/mnt/sub/f%d", i);
      int f = open (p, O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (f < 0)
        {
          printf ("WARD_VM_FS_FAIL create %s: %s\n", p, strerror (errno));
          ok = 0;
          break;
        }
      close (f);
    }
  double create_ms = ms_since (&t);
  clock_gettime (CLOCK_MONOTONIC, &t);
  for (int i = 0; i < 100; i++)
    {
      char p[64];
      snprintf (p, sizeof p, "/mnt/sub/f%d", i);
      unlink (p);
    }
  printf ("WARD_VM_FS_META create100_ms=%.1f unlink100_ms=%.1f\n", create_ms, ms_since (&t));
  if (ok)
    printf ("WARD_VM_FS_DONE\n");
  fflush (stdout);
}

/* wardnet=1: eth0 (virtio-net on a host TAP, boot-test --net) gets
 * 10.0.2.15/24 by ioctl; a UDP datagram to 10.0.2.2:7777 must come back */
static void
net_test (void)
{
  int s = socket (AF_INET, SOCK_DGRAM, 0);
  struct ifreq r;
  memset (&r, 0, sizeof r);
  snprintf (r.ifr_name, sizeof r.ifr_name, "eth0");
  struct sockaddr_in *sin = (struct sockaddr_in *) &r.ifr_addr;
  sin->sin_family = AF_INET;
  inet_pton (AF_INET, "10.0.2.15", &sin->sin_addr);
  int ok = s >= 0 && ioctl (s, SIOCSIFADDR, &r) == 0;
  inet_pton (AF_INET, "255.255.255.0", &sin->sin_addr);
  ok = ok && ioctl (s, SIOCSIFNETMASK, &r) == 0 && ioctl (s, SIOCGIFFLAGS, &r) == 0;
  r.ifr_flags |= IFF_UP;
  ok = ok && ioctl (s, SIOCSIFFLAGS, &r) == 0;
  if (!ok)
    {
      printf ("WARD_VM_NET_FAIL configure eth0: %s\n", strerror (errno));
      return;
    }
  struct timeval tv = { .tv_sec = 1 };
  setsockopt (s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in host = { .sin_family = AF_INET, .sin_port = htons (7777) };
  inet_pton (AF_INET, "10.0.2.2", &host.sin_addr);
  for (int i = 0; i < 10; i++)
    {
      struct timespec t;
      char buf[64];
      clock_gettime (CLOCK_MONOTONIC, &t);
      if (sendto (s, "ping from the guest", 19, 0, (struct sockaddr *) &host, sizeof host) != 19)
        continue;
      ssize_t n = recv (s, buf, sizeof buf, 0);
      if (n == 19 && memcmp (buf, "ping from the guest", 19) == 0)
        {
          printf ("WARD_VM_NET_OK udp echo after %d tries, rtt=%.2f ms\n", i + 1, ms_since (&t));
          close (s);
          return;
        }
    }
  printf ("WARD_VM_NET_FAIL no UDP echo from 10.0.2.2\n");
  close (s);
}

int
main (void)
{
  char msg[128];
  struct timespec ts;
  clock_gettime (CLOCK_BOOTTIME, &ts);
  int n = snprintf (msg, sizeof msg, "WARD_VM_BOOT_MARKER boottime=%ld.%03lds\n", (long) ts.tv_sec,
                    ts.tv_nsec / 1000000);
  if (write (1, msg, (size_t) n) < 0)
    { /* no console: hvc0 below may still work */
    }
  mount ("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  /* opened once and kept: a tty closed in between drops input already read */
  int fd = open ("/dev/hvc0", O_RDWR | O_NOCTTY);
  if (fd >= 0)
    {
      /* a marker of its own, so the test can tell hvc0 from ttyS0 */
      n = snprintf (msg, sizeof msg, "WARD_VM_HVC_MARKER boottime=%ld.%03lds\n", (long) ts.tv_sec,
                    ts.tv_nsec / 1000000);
      if (write (fd, msg, (size_t) n) < 0)
        {
        }
    }
  /* with --rng: the guest's hw_random core picks virtio-rng */
  int rng = open ("/dev/hwrng", O_RDONLY);
  if (rng >= 0)
    {
      unsigned char b[16];
      if (read (rng, b, sizeof b) == (ssize_t) sizeof b)
        printf ("WARD_VM_RNG_OK\n");
      fflush (stdout);
      close (rng);
    }
  if (getenv ("wardvsock"))
    vsock_test ();
  if (getenv ("wardfs"))
    fs_test ();
  if (getenv ("wardnet"))
    net_test ();
  /* wardhvcecho=1: one line of host input through virtio-console */
  if (getenv ("wardhvcecho"))
    {
      int h = fd;
      char line[128];
      ssize_t r = h >= 0 ? read (h, line, sizeof line - 1) : -1;
      if (r > 0)
        {
          line[r] = '\0';
          char out[160];
          int m = snprintf (out, sizeof out, "WARD_VM_HVC_ECHO %s", line);
          if (write (h, out, (size_t) m) != m)
            printf ("WARD_VM_HVC_ECHO_FAIL\n");
        }
    }
  if (fd >= 0)
    close (fd);
  sync ();
  /* no ACPI: power-off would just halt; reboot=k turns this into an i8042 reset */
  reboot (RB_AUTOBOOT);
  for (;;)
    pause ();
}
