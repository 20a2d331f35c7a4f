"""Build-time tools of the genre project; none of them ships in the Docker image."""
