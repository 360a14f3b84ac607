# cgroups sources are added here
