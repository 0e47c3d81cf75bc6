# Connect en español: las mismas claves y variables que ../en/connect.ftl.
# Trato de usted, como en la comunicación de las empresas de servicios.

## El marco de cada pantalla

document-title = Conecte su cuenta de servicios · Gridlink
connect-title-default = Gridlink Connect
connect-header-label = Connect
connect-main-label = Conecte su cuenta de servicios
connect-footer-label = Acerca de Connect
connect-footer = Sus datos de acceso se cifran y se usan solo para leer sus datos de servicios. Protegido por Gridlink.
exit = Salir
opening-connect = Abriendo Connect…
please-wait = Espere, por favor…
submit = Enviar
try-again = Intentar de nuevo

## Enlaces que no se pueden usar

link-incomplete-title = Este enlace está incompleto
link-incomplete-text = Para conectar su cuenta de servicios, abra el enlace completo que recibió o pida uno nuevo a la empresa que se lo envió.
link-expired-title = Este enlace venció
link-expired-text = Este enlace venció. Pida uno nuevo a la empresa que se lo envió.
link-used-title = Este enlace ya se usó
link-used-text = Este enlace ya se usó: su cuenta está conectada. No tiene que hacer nada más.
link-revoked-title = Este enlace ya no es válido
link-revoked-text = Este enlace ya no es válido. Pida uno nuevo a la empresa que se lo envió.
link-replaced-title = Este enlace fue reemplazado
link-replaced-text = Se envió un enlace más reciente para esta cuenta. Use el último enlace que recibió o pida uno nuevo a la empresa que se lo envió.
link-invalid-title = Este enlace no es válido
link-invalid-text = Compruebe que abrió el enlace completo o pida uno nuevo a la empresa que se lo envió.
connection-lost-title = Se perdió la conexión
network-error = No se puede contactar con Gridlink. Compruebe su conexión e inténtelo de nuevo.
briefly-unavailable = Gridlink no está disponible por un momento. Inténtelo de nuevo en unos instantes.
unexpected-answer = El servidor dio una respuesta inesperada (HTTP { $status }). Inténtelo de nuevo en un momento.
too-many-requests = Demasiadas solicitudes desde su red. Espere un momento y vuelva a intentarlo.
fields-not-valid = Algunos campos no son válidos.
something-went-wrong = Algo salió mal de nuestro lado. Inténtelo de nuevo en un momento.

## Elegir la empresa e ingresar los datos de acceso

choose-utility = Elija su empresa de servicios
organisation-uses-gridlink = { $organisation } usa Gridlink para leer sus facturas de servicios.
search-utilities = Buscar empresas de servicios
loading-utilities = Cargando empresas de servicios…
utilities-label = Empresas de servicios
no-utility-matches = Ninguna empresa coincide con su búsqueda.
utility-trouble-note = Tiene problemas en este momento
utility-trouble-notice = { $utility } tiene problemas en este momento. Puede intentarlo igualmente; si la conexión falla, inténtelo más tarde.
recovery-alert-title = Avisarme por correo cuando { $utility } vuelva a funcionar
recovery-alert-hint = Opcional. Le enviaremos un solo correo con un enlace nuevo cuando funcione.
recovery-alert-email-label = Correo electrónico
recovery-alert-save = Avisarme cuando funcione
recovery-alert-saved = Enviaremos un correo a { $email } cuando { $utility } vuelva a funcionar.
recovery-alert-not-needed = { $utility } vuelve a responder: puede conectarse ahora.
enter-login = Ingrese sus datos de acceso
enter-login-hint = Use el usuario y la contraseña de su cuenta en línea con su empresa de servicios.
username = Usuario
password = Contraseña
consent-intro = Acepto que { $organisation } lea mis datos de servicios según sus
consent-terms = términos
consent-and = y su
consent-privacy = política de privacidad
consent-required = Acepte los términos y la política de privacidad para continuar.
choose-another-utility = Elegir otra empresa
username-required = Ingrese un usuario.
username-too-long = El usuario tiene como máximo 128 caracteres.
username-control-characters = El usuario no puede contener caracteres de control.
password-required = Ingrese una contraseña.
password-too-long = La contraseña tiene como máximo 256 caracteres.

## La primera pantalla de un enlace de actualización: nada llega a la empresa antes de Continuar

confirm-heading = Verifique su cuenta de { $utility }
confirm-text = { $organisation } necesita que vuelva a verificar su cuenta de { $utility } para mantener sus datos al día.
confirm-login = Usuario: { $username }
confirm-next = Al continuar, Gridlink inicia sesión en { $utility } con el usuario guardado; es posible que le envíe un código de verificación.
continue-button = Continuar

## Conectando

connecting-heading = Conectando con su empresa de servicios
connecting-label = Conectando
connecting-signing-in = Iniciando sesión en el sitio web de su empresa de servicios…
connecting-waiting = Esperando la respuesta de su empresa de servicios…
connecting-slow = Su empresa de servicios está tardando más de lo habitual en responder.
connecting-slow-hint = A veces los sitios web de las empresas de servicios son lentos. Puede seguir esperando o volver a iniciar la conexión.
keep-waiting = Seguir esperando

## Verificación

choose-method-heading = Seleccione su método de verificación preferido
choose-method-hint = Su empresa de servicios le enviará un código de un solo uso.
verification-method = Método de verificación
method-sms = Mensaje de texto
method-call = Llamada telefónica
method-email = Correo electrónico
back-to-code = Volver al código
enter-code-heading = Ingrese su código de verificación
code-sent-sms = Enviamos un código por mensaje de texto al número { $destination }.
code-sent-call = Lo estamos llamando al número { $destination } para darle su código.
code-sent-email = Enviamos un código por correo electrónico a { $destination }.
verification-code = Código de verificación
new-code-on-its-way = Un código nuevo está en camino.
no-more-codes = No se pueden enviar más códigos
resend-code = Reenviar código
resend-code-in = Reenviar código en { $seconds } s
use-another-method = Usar otro método
code-required = Ingrese el código que recibió.
code-digits-only = El código solo tiene dígitos.
code-length = El código tiene de 4 a 8 dígitos.

## El final

success-connected = Su cuenta está conectada
success-reconnected = Su cuenta se volvió a conectar
success-authenticated = La autenticación fue exitosa.
success-account = Cuenta de { $utility }: { $username }.
success-can-close = { $organisation } ya puede leer sus facturas de servicios. Puede cerrar esta ventana.
failed-locked-title = Su cuenta está bloqueada
failed-locked-text = Su empresa de servicios bloqueó esta cuenta. Desbloquéela en el sitio web de su empresa y vuelva a intentarlo.
failed-unsupported-title = Esta verificación no es compatible
failed-unsupported-text = Su empresa de servicios pide un tipo de verificación (como preguntas de seguridad) que no se puede completar aquí. Comuníquese con la empresa que le envió este enlace.
failed-mfa-title = La verificación no se completó
failed-mfa-text = No se pudo verificar el código. Vuelva a empezar para recibir un código nuevo.
failed-unavailable-title = Su empresa de servicios no responde
failed-unavailable-text = El sitio web de su empresa de servicios no está disponible en este momento. Seguimos intentándolo; usted también puede volver a intentarlo.
wrong-login = Su empresa de servicios no aceptó ese usuario o contraseña. Revíselos y vuelva a intentarlo.
password-rejected-heading = No se aceptó su contraseña
password-rejected-text = Su empresa de servicios no aceptó la contraseña de { $username }. Ingrese su contraseña actual.

## Lo que el servidor responde a Connect

code-expired = El código venció. Vuelva a empezar para recibir uno nuevo.
verification-idle-expired = La verificación venció tras 30 minutos sin actividad. Vuelva a empezar.
login-fixed-by-link = Este enlace vuelve a conectar una cuenta existente; aquí no se pueden cambiar los datos de acceso.
link-for-other-utility = Este enlace es para otra empresa de servicios.
login-already-submitted = Los datos de acceso ya se enviaron.
state-changed = El estado de la cuenta cambió mientras tanto. Vuelva a cargar la página e inténtelo de nuevo.
enter-login-first = Primero ingrese sus datos de acceso.
account-deactivated = Esta cuenta fue desactivada.
password-not-asked = La contraseña solo se vuelve a pedir después de que la empresa de servicios la rechazó.
utility-not-answering = Su empresa de servicios no responde en este momento. Espere un momento e inténtelo de nuevo.
no-verification-waiting = No hay ninguna verificación esperando un código.
choose-how-to-receive = Elija cómo recibir el código.
method-not-offered = Su empresa de servicios no ofrece este método para su cuenta.
utility-sends-no-more = Su empresa de servicios no enviará más códigos por ahora. Use el último código que recibió.
challenge-expired = La verificación venció en la empresa de servicios. Vuelva a empezar.
utility-refused-send = Su empresa de servicios no pudo enviar un código. Vuelva a empezar.
wrong-code = Ese código no es correcto. { $attempts ->
    [one] Queda 1 intento.
   *[other] Quedan { $attempts } intentos.
}
too-many-wrong-codes = Demasiados códigos incorrectos. Vuelva a empezar para recibir un código nuevo.
utility-could-not-check = Su empresa de servicios no pudo comprobar el código. Vuelva a empezar.
connect-too-often = Se pidió conectar esta cuenta demasiadas veces. Espere un rato y vuelva a intentarlo.
code-not-expected = Ahora no se espera ningún código. Primero elija un método de verificación.
request-in-flight = Su última solicitud aún se está comprobando con su empresa de servicios. Espere la respuesta.
no-more-sends = No se pueden enviar más códigos en este intento. Use el último código que recibió o vuelva a empezar.
code-just-sent = Se acaba de enviar un código. Espere un momento antes de pedir otro.
daily-code-ceiling = Se probaron demasiados códigos para esta cuenta hoy. Vuelva a intentarlo mañana.
contact-after-success = Puede añadir una dirección de correo cuando la cuenta esté conectada.
contact-already-set = Ya hay una dirección para estos avisos. La organización puede cambiarla.
wait-seconds-range = El tiempo de espera es un número entero de segundos entre 1 y { $most }.
contact-offer-title = Avisarme por correo si esta conexión necesita atención
contact-offer-hint = Opcional. { $organisation } le enviará un enlace para volver a conectar si su empresa de servicios le pide verificar de nuevo.
contact-email-label = Correo electrónico
contact-save = Avisarme
contact-saving = Guardando…
contact-saved = Le escribiremos a { $email } si esta conexión necesita atención.
unsubscribe-title = ¿Dejar de recibir estos correos?
unsubscribe-text = { $organisation } escribe a { $email } cuando su conexión con la empresa de servicios necesita que vuelva a iniciar sesión. Puede dejar de recibir estos correos; su conexión seguirá igual.
unsubscribe-button = Dejar de recibir estos correos
unsubscribe-done-title = Se ha dado de baja
unsubscribe-done-text = { $organisation } no volverá a escribir a { $email } sobre su conexión.
unsubscribe-invalid-title = Este enlace no funciona
unsubscribe-invalid-text = El enlace para darse de baja está incompleto o no es válido. Use el enlace del correo más reciente.
