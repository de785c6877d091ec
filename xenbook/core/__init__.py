"""The core: commands, errors, the Host interface, state paths, plan actions, the step base and the section record; it imports nothing else from xenbook."""
