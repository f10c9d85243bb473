"""WildGHand: anti-perturbation Gaussian hand avatars (the paper's method)."""
