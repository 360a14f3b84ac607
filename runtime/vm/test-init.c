/* /init of the boot-test initramfs (static): prints the marker on the
 * console (ttyS0) and on hvc0 when present, then resets the VM. */
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
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
