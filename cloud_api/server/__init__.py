"""The Litestar application: factory, core plugin, runtime, problem-details errors."""
