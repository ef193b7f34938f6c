"""Background work: the Dramatiq broker and actors, and the periodic jobs."""
