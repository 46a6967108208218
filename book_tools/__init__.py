"""Tools that read or write the book's notebooks. The course package, :mod:`cifar_lessons`, never
imports them: it knows nothing of notebooks."""
