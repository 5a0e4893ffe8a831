"""Conversations with deployed assistants: the tests declared beside them, and chat.

=================  ===========================================================================
module             owns
=================  ===========================================================================
``declarations``   ``<assistant>/tests/*.yaml``: load, validate (file, line, field), check
                   against the rendered assistants, read the JSON Schemas they name
``handlers``       the Python handlers a test names, imported safely from the project
``target``         what an environment runs: assistant ids, or its release's requests
``driver``         one conversation, turn by turn: streamed runs (or responses), function
                   calls answered, run steps read, everything deleted on ``close``
``assertions``     the checks of a turn
``runner``         tests run concurrently, timed out, repeated with a threshold, interrupted
                   without leaving a thread behind
``results``        the typed report (``api.run_tests`` returns it; ``--format json`` prints it)
``junit``          the report as JUnit XML
=================  ===========================================================================

The layer sits under the facade and the output (which show its results) and over the engine
(whose plan tells what is deployed); it talks to providers only through
:mod:`assistops.providers.sessions`.
"""
