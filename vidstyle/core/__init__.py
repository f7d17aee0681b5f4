"""The method (Gatys et al.): VGG19 weights and features, losses, the objective, the optimiser, styles.

No file paths of user content and no video here.
"""
