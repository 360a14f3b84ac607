# process setup, terminal and seccomp sources
