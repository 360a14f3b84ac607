# runtime sources are added here
