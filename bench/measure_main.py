"""`python -m bench.measure_main URL META --out FILE [--calls N] [--full]`: bench/measure.py run as
the bot is run, from a main module that imports nothing until it runs.

The digest chart is drawn in a spawned process (bot/services/charts.py), and multiprocessing's
spawn imports the parent's main module again in it. `python bot.py` keeps that import empty;
with `python -m bench.measure` as the main module, the chart process imported the bench, SimCord,
discord.py and the whole bot before its first draw, and the digests' figure carried about a second
that a deployed bot never pays.
"""

if __name__ == "__main__":
    from bench.measure import main

    main()
