"""Conference calls: rooms with PINs, dial-in and one-click dial-out meetings on mixing bridges."""
