# runtime/manager: the daemonless container manager behind `ward`
