"""An aiogram 3 bot that reports its funnel to capigate through ``capigate.client``.

``/start <token>`` -> ``start_bot`` with ``context.start_param`` (the landing page's
deep-link token, which the gateway joins to the page's fbc/fbp/UTMs); the five onboarding
steps -> ``onboarding_language`` ... ``onboarding_capital``; expenses (``25000 food``) ->
``first_entry`` for the first one, and with ``CAPIGATE_ACTIVITY=1`` the plain activity
(``onboarding_step``, ``expense_logged``) that the gateway's lifecycle engine derives events
from. See README.md next to this file for how to run it.
"""

from __future__ import annotations

import asyncio
import logging
import os

import tracking
from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup, ReplyKeyboardRemove

from capigate.client import AsyncCapigate

SEND_ACTIVITY = os.environ.get("CAPIGATE_ACTIVITY") == "1"
LANGUAGES = ["uz", "ru", "en"]
CURRENCIES = ["UZS", "USD"]
router = Router()
users_with_expenses: set[int] = set()  # the example's stand-in for the bot's own database


class Onboarding(StatesGroup):
    language = State()
    name = State()
    phone = State()
    currency = State()
    capital = State()


def buttons(labels: list[str]) -> ReplyKeyboardMarkup:
    row = [KeyboardButton(text=label) for label in labels]
    return ReplyKeyboardMarkup(keyboard=[row], resize_keyboard=True, one_time_keyboard=True)


async def report_step(capigate: AsyncCapigate, step: str, user_id: int, value: str) -> None:
    await capigate.track(tracking.onboarding(step, user_id, value))
    if SEND_ACTIVITY:
        await capigate.track(tracking.onboarding_activity(step, user_id, value))


@router.message(CommandStart())
async def on_start(
    message: Message, command: CommandObject, state: FSMContext, capigate: AsyncCapigate
) -> None:
    user = message.from_user
    if user is None:
        return
    token = tracking.start_token(command.args)
    await capigate.track(tracking.start_bot(user.id, token, language=user.language_code))
    await state.set_state(Onboarding.language)
    await message.answer("Choose your language:", reply_markup=buttons(LANGUAGES))


@router.message(Onboarding.language, F.text.in_(LANGUAGES))
async def on_language(message: Message, state: FSMContext, capigate: AsyncCapigate) -> None:
    await report_step(capigate, "language", message.chat.id, message.text or "")
    await state.set_state(Onboarding.name)
    await message.answer("Your name?", reply_markup=ReplyKeyboardRemove())


@router.message(Onboarding.name, F.text)
async def on_name(message: Message, state: FSMContext, capigate: AsyncCapigate) -> None:
    await report_step(capigate, "name", message.chat.id, message.text or "")
    await state.set_state(Onboarding.phone)
    share = KeyboardButton(text="Share my phone number", request_contact=True)
    keyboard = ReplyKeyboardMarkup(keyboard=[[share]], resize_keyboard=True)
    await message.answer("Share your phone number:", reply_markup=keyboard)


@router.message(Onboarding.phone, F.contact)
async def on_phone(message: Message, state: FSMContext, capigate: AsyncCapigate) -> None:
    contact = message.contact
    if contact is None or contact.user_id != message.chat.id:
        await message.answer("Please share your own number with the button.")
        return
    await report_step(capigate, "phone", message.chat.id, contact.phone_number)
    await state.set_state(Onboarding.currency)
    await message.answer("Main currency?", reply_markup=buttons(CURRENCIES))


@router.message(Onboarding.currency, F.text.in_(CURRENCIES))
async def on_currency(message: Message, state: FSMContext, capigate: AsyncCapigate) -> None:
    await report_step(capigate, "currency", message.chat.id, message.text or "")
    await state.set_state(Onboarding.capital)
    await message.answer("Starting capital?", reply_markup=ReplyKeyboardRemove())


@router.message(Onboarding.capital, F.text)
async def on_capital(message: Message, state: FSMContext, capigate: AsyncCapigate) -> None:
    if tracking.parse_amount(message.text or "") is None:
        await message.answer("A positive number, please (for example 1000000).")
        return
    await report_step(capigate, "capital", message.chat.id, message.text or "")
    await state.clear()
    await message.answer("Done! Log an expense like: 25000 food")


@router.message(F.text)
async def on_expense(message: Message, capigate: AsyncCapigate) -> None:
    expense = tracking.parse_expense(message.text or "")
    if expense is None:
        await message.answer("Log an expense like: 25000 food  (or 12.5 usd taxi)")
        return
    user_id = message.chat.id
    first = user_id not in users_with_expenses
    users_with_expenses.add(user_id)
    for item in tracking.expense_events(user_id, expense, first=first, activity=SEND_ACTIVITY):
        await capigate.track(item)
    await message.answer(f"Saved: {expense.amount:g} {expense.category or ''}".strip())


async def main() -> None:
    logging.basicConfig(level=logging.INFO)
    bot = Bot(os.environ["BOT_TOKEN"])
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    async with AsyncCapigate(
        os.environ["CAPIGATE_KEY"],
        base_url=os.environ.get("CAPIGATE_URL", "http://127.0.0.1:8000"),
        spool_dir=os.environ.get("CAPIGATE_SPOOL_DIR", "./capigate-spool"),
    ) as capigate:
        # Keyword arguments of start_polling reach every handler that names them.
        await dispatcher.start_polling(bot, capigate=capigate)


if __name__ == "__main__":
    asyncio.run(main())
