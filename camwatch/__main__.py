from camwatch.cli import app

app()
