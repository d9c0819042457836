"""Names vulture reports as unused that the language or a framework calls: `vulture src/dockaudit vulture_allowlist.py`.

Each entry is a parameter whose name and position an outside caller fixes; the code does not read it.
"""

frame  # signal handlers: `handler(signum, frame)` is the signature `signal.signal` calls (cli.py, ssh_tunnel.py)
exc_type  # `__exit__(exc_type, exc, tb)`: the context manager protocol (engine/client.py)
tb  # the same `__exit__` protocol
parameters  # Textual's `Screen.check_action(action, parameters)` hook (tui/screens/main.py)
