# ward-vm: the VMM, virtio devices and guest kernel build
