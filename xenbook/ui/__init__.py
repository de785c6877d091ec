"""People's views: what a section notebook calls, its ipywidgets form, the dashboard view and the parameters cells."""
