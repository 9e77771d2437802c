"""cocotb + pyuvm verification environment for the NEURAL core."""
