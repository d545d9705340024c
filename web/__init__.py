"""The supervisory office's dashboard and JSON API (`nianbao web`).

Reads through models/, acts through worker/; nothing imports web."""
