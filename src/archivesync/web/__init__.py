"""The web console: Japanese pages for staff (overview, resync queue) and analysts (search,
video and channel pages), served as a Datasette plugin next to Datasette's own pages.

plugin.py holds the Datasette hooks, routes.py the URLs; access.py says who is asking,
login.py signs in and out, staff.py and browse.py hold the handlers of staff and analysts,
respond.py and tables.py what they share (rendering, CSV and Excel), data.py the queries they
run, charts.py the server-side SVG charts, users.py the users file, text.py the Japanese
formatting. Templates are in templates/console/, the stylesheet and script in static/.
"""
