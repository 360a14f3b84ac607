/* A 16550A UART at 0x3f8/IRQ 4: enough for Linux's 8250 driver to probe it,
 * print early boot messages and drive the tty with THR-empty interrupts. */
#include <config.h>

#include <string.h>

#include "common/fs.h"
#include "runtime/vm/devices.h"

enum
{
  UART_RX_TX = 0,
  UART_IER = 1,
  UART_IIR_FCR = 2,
  UART_LCR = 3,
  UART_MCR = 4,
  UART_LSR = 5,
  UART_MSR = 6,
  UART_SCR = 7,
};

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

void
ward_vm_serial_init (struct ward_vm_serial *s, int out_fd, ward_vm_irq_fn irq, void *opaque)
{
  memset (s, 0, sizeof *s);
  pthread_mutex_init (&s->lock, NULL);
  s->out_fd = out_fd;
  s->irq = irq;
  s->irq_opaque = opaque;
  s->mcr = 0x08; /* OUT2 */
}

void
ward_vm_serial_destroy (struct ward_vm_serial *s)
{
  pthread_mutex_destroy (&s->lock);
}

static uint8_t
pending_iir (const struct ward_vm_serial *s)
{
  if ((s->ier & IER_RDI) && s->rx_len > 0)
    return IIR_RDI;
  if ((s->ier & IER_THRI) && s->thri_pending)
    return IIR_THRI;
  return IIR_NO_INT;
}

/* The UART's output is a level; the ISA IRQ is edge-triggered, so a new
 * interrupt while the line is already high needs a low-high pulse. */
static void
update_irq (struct ward_vm_serial *s, bool pulse)
{
  bool want = pending_iir (s) != IIR_NO_INT;
  if (s->irq == NULL)
    return;
  if (s->line && (!want || pulse))
    {
      s->irq (s->irq_opaque, WARD_VM_SERIAL_IRQ, 0);
      s->line = false;
    }
  if (want && !s->line)
    {
      s->irq (s->irq_opaque, WARD_VM_SERIAL_IRQ, 1);
      s->line = true;
    }
}

static void
rx_push (struct ward_vm_serial *s, uint8_t c)
{
  if (s->rx_len == WARD_VM_SERIAL_RX_SIZE)
    return;
  s->rx[(s->rx_head + s->rx_len) % WARD_VM_SERIAL_RX_SIZE] = c;
  s->rx_len++;
}

uint8_t
ward_vm_serial_in (struct ward_vm_serial *s, unsigned off)
{
  uint8_t v = 0;
  pthread_mutex_lock (&s->lock);
  switch (off)
    {
    case UART_RX_TX:
      if (s->lcr & LCR_DLAB)
        v = s->dll;
      else if (s->rx_len > 0)
        {
          v = s->rx[s->rx_head];
          s->rx_head = (s->rx_head + 1) % WARD_VM_SERIAL_RX_SIZE;
          s->rx_len--;
          update_irq (s, false);
        }
      break;
    case UART_IER:
      v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
      break;
    case UART_IIR_FCR:
      v = pending_iir (s);
      /* reading IIR acknowledges a THR-empty interrupt */
      if (v == IIR_THRI)
        {
          s->thri_pending = false;
          update_irq (s, false);
        }
      if (s->fcr & 1)
        v |= IIR_FIFO;
      break;
    case UART_LCR:
      v = s->lcr;
      break;
    case UART_MCR:
      v = s->mcr;
      break;
    case UART_LSR:
      v = LSR_THRE | LSR_TEMT | (s->rx_len > 0 ? LSR_DR : 0);
      break;
    case UART_MSR:
      if (s->mcr & MCR_LOOP)
        /* loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD (the probe checks it) */
        v = (uint8_t) (((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) | ((s->mcr & 0x04) << 4)
                       | ((s->mcr & 0x08) << 4));
      else
        v = 0xb0; /* DCD, DSR, CTS */
      break;
    case UART_SCR:
      v = s->scr;
      break;
    default:
      break;
    }
  pthread_mutex_unlock (&s->lock);
  return v;
}

void
ward_vm_serial_out (struct ward_vm_serial *s, unsigned off, uint8_t v)
{
  pthread_mutex_lock (&s->lock);
  switch (off)
    {
    case UART_RX_TX:
      if (s->lcr & LCR_DLAB)
        {
          s->dll = v;
          break;
        }
      if (s->mcr & MCR_LOOP)
        rx_push (s, v);
      else if (s->out_fd >= 0)
        (void) ward_write_all (s->out_fd, &v, 1);
      /* the byte is "sent" at once, so THR is empty again */
      s->thri_pending = true;
      update_irq (s, true);
      break;
    case UART_IER:
      if (s->lcr & LCR_DLAB)
        {
          s->dlm = v;
          break;
        }
      if ((v & IER_THRI) && !(s->ier & IER_THRI))
        s->thri_pending = true;
      s->ier = v & 0x0f;
      update_irq (s, false);
      break;
    case UART_IIR_FCR:
      s->fcr = v;
      if (v & 0x02)
        s->rx_len = 0;
      update_irq (s, false);
      break;
    case UART_LCR:
      s->lcr = v;
      break;
    case UART_MCR:
      s->mcr = v & 0x1f;
      break;
    case UART_SCR:
      s->scr = v;
      break;
    default:
      break;
    }
  pthread_mutex_unlock (&s->lock);
}

size_t
ward_vm_serial_input (struct ward_vm_serial *s, const void *buf, size_t len)
{
  size_t n = 0;
  pthread_mutex_lock (&s->lock);
  while (n < len && s->rx_len < WARD_VM_SERIAL_RX_SIZE)
    rx_push (s, ((const uint8_t *) buf)[n++]);
  update_irq (s, false);
  pthread_mutex_unlock (&s->lock);
  return n;
}
