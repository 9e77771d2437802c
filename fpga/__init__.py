"""Board build and host link of the NEURAL core: VC707 top, UART bridge protocol, host program."""
