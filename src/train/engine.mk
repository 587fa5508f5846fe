# src/train engine pieces: losses, schedules, recipes
