"""What notebooks and data scientists call: experiments, tuning, exploration, backtests, CDNOW."""
