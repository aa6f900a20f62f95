"""The clinic desk on the web: queue, patients, knowledge gaps, figures (`aftercare desk`)."""
