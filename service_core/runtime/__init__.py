"""Running fleetcare: embedded servers, the processes' main loops and the console."""
