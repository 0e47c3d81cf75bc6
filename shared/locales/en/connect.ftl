# Connect in English: every word an end-user reads, and the errors the
# server answers to Connect. The Spanish catalogue (../es/connect.ftl) has the
# same messages with the same variables; the build checks it.

## The frame around every screen

document-title = Connect your utility account · Gridlink
connect-title-default = Gridlink Connect
connect-header-label = Connect
connect-main-label = Connect your utility account
connect-footer-label = About Connect
connect-footer = Your login is encrypted and used only to read your utility data. Secured by Gridlink.
exit = Exit
opening-connect = Opening Connect…
please-wait = Please wait…
submit = Submit
try-again = Try again

## Links that cannot be used

link-incomplete-title = This link is incomplete
link-incomplete-text = To connect your utility account, open the link you were sent in full, or ask the company that sent it for a new one.
link-expired-title = This link has expired
link-expired-text = This link has expired. Ask the company that sent it for a new one.
link-used-title = This link was already used
link-used-text = This link was already used: your account is connected. Nothing more to do.
link-revoked-title = This link is no longer valid
link-revoked-text = This link is no longer valid. Ask the company that sent it for a new one.
link-replaced-title = This link was replaced
link-replaced-text = A newer link was sent for this account. Use the newest link you received, or ask the company that sent it for a new one.
link-invalid-title = This link is not valid
link-invalid-text = Check that you opened the whole link, or ask the company that sent it for a new one.
connection-lost-title = Connection lost
network-error = Cannot reach Gridlink. Check your connection and try again.
briefly-unavailable = Gridlink is briefly unavailable. Try again in a moment.
unexpected-answer = The server gave an unexpected answer (HTTP { $status }). Try again in a moment.
too-many-requests = Too many requests from your network. Wait a moment, then try again.
fields-not-valid = Some fields are not valid.
something-went-wrong = Something went wrong on our side. Try again in a moment.

## Choosing the utility and entering the login

choose-utility = Choose your utility
organisation-uses-gridlink = { $organisation } uses Gridlink to read your utility bills.
search-utilities = Search utilities
loading-utilities = Loading utilities…
utilities-label = Utilities
no-utility-matches = No utility matches your search.
utility-trouble-note = Having trouble right now
utility-trouble-notice = { $utility } is having trouble right now. You can still try; if connecting fails, try again later.
recovery-alert-title = Email me when { $utility } works again
recovery-alert-hint = Optional. We send one email with a fresh link when it does.
recovery-alert-email-label = Email address
recovery-alert-save = Email me when it works
recovery-alert-saved = We will email { $email } when { $utility } works again.
recovery-alert-not-needed = { $utility } is answering again: you can connect now.
enter-login = Enter your utility login
enter-login-hint = Use the username and password of your online account at your utility.
username = Username
password = Password
consent-intro = I agree that { $organisation } reads my utility data under its
consent-terms = terms
consent-and = and
consent-privacy = privacy policy
consent-required = Agree to the terms and privacy policy to continue.
choose-another-utility = Choose another utility
username-required = Enter a username.
username-too-long = A username is at most 128 characters.
username-control-characters = A username cannot contain control characters.
password-required = Enter a password.
password-too-long = A password is at most 256 characters.

## An update link's first screen: nothing reaches the utility before Continue

confirm-heading = Verify your { $utility } account
confirm-text = { $organisation } needs you to verify your { $utility } account again to keep your data up to date.
confirm-login = Login: { $username }
confirm-next = When you continue, Gridlink signs in to { $utility } with the login on file; it may send you a verification code.
continue-button = Continue

## Connecting

connecting-heading = Connecting with your utility
connecting-label = Connecting
connecting-signing-in = Signing in to your utility's website…
connecting-waiting = Waiting for your utility to answer…
connecting-slow = Your utility is taking longer than usual to answer.
connecting-slow-hint = Utility websites are sometimes slow. You can keep waiting, or start the connection again.
keep-waiting = Keep waiting

## Verification

choose-method-heading = Select your preferred verification method
choose-method-hint = Your utility will send you a one-time code.
verification-method = Verification method
method-sms = Text message
method-call = Phone call
method-email = Email
back-to-code = Back to the code
enter-code-heading = Enter your verification code
code-sent-sms = We sent a code by text message to { $destination }.
code-sent-call = We are calling { $destination } with your code.
code-sent-email = We sent a code by email to { $destination }.
verification-code = Verification code
new-code-on-its-way = A new code is on its way.
no-more-codes = No more codes can be sent
resend-code = Resend code
resend-code-in = Resend code in { $seconds } s
use-another-method = Use another method
code-required = Enter the code you received.
code-digits-only = The code is made of digits only.
code-length = The code has 4 to 8 digits.

## The end

success-connected = Your account is connected
success-reconnected = Your account is reconnected
success-authenticated = Authentication was successful.
success-account = { $utility } account { $username }.
success-can-close = { $organisation } can now read your utility bills. You can close this window.
failed-locked-title = Your account is locked
failed-locked-text = Your utility has locked this account. Unlock it on your utility's website, then try again.
failed-unsupported-title = This verification is not supported
failed-unsupported-text = Your utility asks for a kind of verification (such as security questions) that cannot be completed here. Contact the company that sent you this link.
failed-mfa-title = Verification did not complete
failed-mfa-text = The code could not be verified. Start again to receive a new code.
failed-unavailable-title = Your utility is not answering
failed-unavailable-text = Your utility's website is unavailable right now. We keep retrying; you can also try again yourself.
wrong-login = Your utility did not accept that username or password. Check them and try again.
password-rejected-heading = Your password was not accepted
password-rejected-text = Your utility did not accept the password for { $username }. Enter your current password.

## What the server answers to Connect

code-expired = The code expired. Start again to get a new one.
verification-idle-expired = The verification expired after 30 minutes without activity. Start again.
login-fixed-by-link = This link reconnects an existing account; the login cannot be changed here.
link-for-other-utility = This link is for another utility.
login-already-submitted = The login was already submitted.
state-changed = The account's state changed meanwhile. Reload and try again.
enter-login-first = Enter the login first.
account-deactivated = This account was deactivated.
password-not-asked = The password is only asked for again after the utility rejected it.
utility-not-answering = Your utility is not answering right now. Wait a moment and try again.
no-verification-waiting = No verification is waiting for a code.
choose-how-to-receive = Choose how to receive the code.
method-not-offered = Your utility does not offer this method for your account.
utility-sends-no-more = Your utility will not send more codes right now. Use the last code you received.
challenge-expired = The verification expired at the utility. Start again.
utility-refused-send = Your utility could not send a code. Start again.
wrong-code = That code is not right. { $attempts ->
    [one] 1 attempt left.
   *[other] { $attempts } attempts left.
}
too-many-wrong-codes = Too many wrong codes. Start again to get a new code.
utility-could-not-check = Your utility could not check the code. Start again.
connect-too-often = This account was asked to connect too often. Wait a while, then try again.
code-not-expected = No code is expected now. Choose a verification method first.
request-in-flight = Your last request is still being checked with your utility. Wait for its answer.
no-more-sends = No more codes can be sent for this attempt. Use the last code you received, or start again.
code-just-sent = A code was just sent. Wait a moment before asking for another.
daily-code-ceiling = Too many codes were tried for this account today. Try again tomorrow.
contact-after-success = An email address can be added once the account is connected.
contact-already-set = An address for these notices is already set. The organisation can change it.
wait-seconds-range = How long to wait is a whole number of seconds from 1 to { $most }.
contact-offer-title = Email me if this connection needs attention
contact-offer-hint = Optional. { $organisation } will send you a link to reconnect if your utility asks you to verify again.
contact-email-label = Email address
contact-save = Email me
contact-saving = Saving…
contact-saved = We will email { $email } if this connection needs attention.
unsubscribe-title = Stop these emails?
unsubscribe-text = { $organisation } emails { $email } when your utility connection needs you to sign in again. You can stop these emails; your connection stays as it is.
unsubscribe-button = Stop these emails
unsubscribe-done-title = You are unsubscribed
unsubscribe-done-text = { $organisation } will not email { $email } about your connection again.
unsubscribe-invalid-title = This link does not work
unsubscribe-invalid-text = The unsubscribe link is incomplete or not valid. Use the link from the most recent email.
