"""weft.threads: conversation threads in your own database (library, HTTP APIs, CLI).

Import the facades from :mod:`weft.threads.library` (``Threads``, ``AsyncThreads``).
"""
