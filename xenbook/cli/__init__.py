"""The xenbook command and `xenbook run`, which executes the section notebooks through papermill."""
