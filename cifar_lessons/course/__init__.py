"""What the notebooks use to run the course around the library: the first cell's report, your
code carried from chapter to chapter, experiments over seeds, the results of every chapter,
tables, plots and widgets."""
