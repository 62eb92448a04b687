"""django-oscar, the contender: its own virtual environment, project, generator and query counter.

``bench/oscar/venv.py`` creates ``bench/.oscar-venv`` from ``requirements.txt`` (pinned);
``frobshop/`` is the project exactly as Oscar's "Building your own shop" page lays it out;
``generate.py`` builds the catalog exported from Koszyk's bench database through Oscar's models and
indexes it in Whoosh; ``queries.py`` counts SQL queries per page in-process. The last two run
inside Oscar's virtual environment, never Koszyk's.
"""
