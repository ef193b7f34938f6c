"""HTTP: the Litestar app factory, command controllers, dependencies and error mapping."""
