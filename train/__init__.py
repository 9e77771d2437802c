"""Training, BN folding, quantisation-aware fine-tuning and export of the T=1 spiking networks."""
